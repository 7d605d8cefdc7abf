//! The first checks libvirt's node device parser (`virNodeDevCapsDefParseXML` in
//! `src/conf/node_device_conf.c`) makes on each capability type of a new device: the fields a
//! type requires, in its order, with its errors. `NODE_DEVICE_CREATE_XML` only creates virtual
//! HBAs, so a document that passes them is then refused as no fibre channel HBA; what is
//! checked here decides which error a client sees first. (The optional details of each type —
//! PCI sub-capabilities, storage media, network features — are not checked.)

use proto_core::error::{ErrorCode, ErrorDomain};

use super::error::{Error, Result};
use super::xml::Element;
use super::xml_prop::{strtoul, ullp};

/// A field a capability type requires.
#[derive(Clone, Copy)]
enum Field {
    /// `virNodeDevCapsDefParseUInt` on a child's text: "no/invalid WHAT supplied".
    Uint(&'static str, &'static str),
    /// `virNodeDevCapsDefParseHexId` on a child's `id` attribute.
    HexId(&'static str, &'static str),
    /// A child's text that must be there: the message when it is not.
    Text(&'static str, &'static str),
    /// `virCCWDeviceAddressParseXML` / the AP parsers: "missing/invalid NAME value", in `base`.
    Value(&'static str, u32),
}

use Field::{HexId, Text, Uint, Value};

/// `string(./NAME[1])`, absent when missing or empty.
fn text(cap: &Element, name: &str) -> Option<String> {
    cap.child_text(name).filter(|t| !t.is_empty())
}

fn fail(code: ErrorCode, message: String) -> Error {
    super::error::report(code, ErrorDomain::VIR_FROM_NODEDEV, message)
}

fn check_field(cap: &Element, field: Field, dev: &str) -> Result<()> {
    let internal = |m: String| fail(ErrorCode::VIR_ERR_INTERNAL_ERROR, m);
    let unsupported = |m: String| fail(ErrorCode::VIR_ERR_CONFIG_UNSUPPORTED, m);
    match field {
        Uint(child, what) | HexId(child, what) => {
            let (value, base) = match field {
                Uint(..) => (text(cap, child), 10),
                _ => (cap.child(child).and_then(|c| c.attr("id")).filter(|v| !v.is_empty()).map(str::to_owned), 16),
            };
            match value {
                None => Err(internal(format!("no {what} supplied for '{dev}'"))),
                Some(v) if strtoul(&v, base).is_none() => Err(internal(format!("invalid {what} supplied for '{dev}'"))),
                Some(_) => Ok(()),
            }
        }
        Text(child, message) => match text(cap, child) {
            None => Err(internal(message.replace("%s", dev))),
            Some(_) => Ok(()),
        },
        Value(child, base) => match text(cap, child) {
            None => Err(unsupported(format!("missing {child} value for '{dev}'"))),
            Some(v) if strtoul(&v, base).is_none() => {
                Err(unsupported(format!("invalid {child} value '{v}' for '{dev}'")))
            }
            Some(_) => Ok(()),
        },
    }
}

const PCI: &[Field] = &[
    Uint("domain", "PCI domain ID"),
    Uint("bus", "PCI bus ID"),
    Uint("slot", "PCI slot ID"),
    Uint("function", "PCI function ID"),
    HexId("vendor", "PCI vendor ID"),
    HexId("product", "PCI product ID"),
];
const USB_DEV: &[Field] = &[
    Uint("bus", "USB bus number"),
    Uint("device", "USB device number"),
    HexId("vendor", "USB vendor ID"),
    HexId("product", "USB product ID"),
];
const USB_IF: &[Field] = &[
    Uint("number", "USB interface number"),
    Uint("class", "USB interface class"),
    Uint("subclass", "USB interface subclass"),
    Uint("protocol", "USB interface protocol"),
];
const SCSI: &[Field] = &[
    Uint("host", "SCSI host ID"),
    Uint("bus", "SCSI bus ID"),
    Uint("target", "SCSI target ID"),
    Uint("lun", "SCSI LUN ID"),
];
const CCW: &[Field] = &[Value("cssid", 0), Value("ssid", 0), Value("devno", 16)];

/// The checks of capability `kind` (one `virNodeDevCapsDefParseXML` branch) for device `dev`.
pub(super) fn check(kind: &str, cap: &Element, dev: &str) -> Result<()> {
    let fields: &[Field] = match kind {
        "pci" => PCI,
        "usb_device" => USB_DEV,
        "usb" => USB_IF,
        "net" => &[Text("interface", "no network interface supplied for '%s'")],
        "scsi_target" => &[Text("target", "no target name supplied for '%s'")],
        "scsi" => SCSI,
        "ccw" | "css" => CCW,
        "ap_card" => &[Value("ap-adapter", 0)],
        "ap_queue" => &[Value("ap-adapter", 0), Value("ap-domain", 0)],
        "storage" => return check_storage(cap, dev),
        "drm" => {
            let t = text(cap, "type");
            return match t.as_deref() {
                Some("primary" | "control" | "render") => Ok(()),
                _ => Err(fail(
                    ErrorCode::VIR_ERR_CONFIG_UNSUPPORTED,
                    format!("unknown drm type '{}' for '{dev}'", t.as_deref().unwrap_or("(null)")),
                )),
            };
        }
        "mdev" => {
            if cap.child("type").and_then(|t| t.attr("id")).filter(|v| !v.is_empty()).is_none() {
                return Err(fail(
                    ErrorCode::VIR_ERR_CONFIG_UNSUPPORTED,
                    format!("missing type id attribute for '{dev}'"),
                ));
            }
            return Ok(());
        }
        _ => &[],
    };
    for f in fields {
        check_field(cap, *f, dev)?;
    }
    if kind == "ap_queue" {
        let domain = text(cap, "ap-domain").unwrap_or_default();
        if strtoul(&domain, 0).is_some_and(|d| d > 255) {
            return Err(fail(
                ErrorCode::VIR_ERR_CONFIG_UNSUPPORTED,
                format!("ap-domain value '{domain}' is out of range for '{dev}'"),
            ));
        }
    }
    Ok(())
}

/// `virNodeDevCapStorageParseXML`: a block device path, then (unless the media is removable)
/// a size.
fn check_storage(cap: &Element, dev: &str) -> Result<()> {
    let internal = |m: String| fail(ErrorCode::VIR_ERR_INTERNAL_ERROR, m);
    if text(cap, "block").is_none() {
        return Err(internal(format!("no block device path supplied for '{dev}'")));
    }
    let mut removable = false;
    for sub in cap.children_named("capability") {
        match sub.attr("type") {
            None => return Err(internal(format!("missing storage capability type for '{dev}'"))),
            Some("hotpluggable") => {}
            Some("removable") => removable = true,
            Some(other) => return Err(internal(format!("unknown storage capability type '{other}' for '{dev}'"))),
        }
    }
    if !removable {
        let ok = text(cap, "size").map(|s| ullp(&s).is_some());
        match ok {
            None => return Err(internal(format!("no size supplied for '{dev}'"))),
            Some(false) => return Err(internal(format!("invalid size supplied for '{dev}'"))),
            Some(true) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hypervisor::xml::parse;

    fn run(kind: &str, body: &str) -> Result<()> {
        check(kind, &parse(&format!("<capability type='{kind}'>{body}</capability>"), "t").unwrap(), "new device")
    }

    #[test]
    fn required_fields_in_libvirts_order() {
        assert_eq!(
            run("pci", "").unwrap_err().triple(),
            (1, 22, "internal error: no PCI domain ID supplied for 'new device'")
        );
        assert_eq!(
            run("pci", "<domain>x</domain>").unwrap_err().triple(),
            (1, 22, "internal error: invalid PCI domain ID supplied for 'new device'")
        );
        assert!(run("usb_device", "<bus>1</bus><device>2</device><vendor id='0x1d6b'/><product id='3'/>").is_ok());
        assert_eq!(
            run("ccw", "<cssid>0xfe</cssid><ssid>q</ssid>").unwrap_err().triple(),
            (67, 22, "unsupported configuration: invalid ssid value 'q' for 'new device'")
        );
        assert_eq!(
            run("drm", "").unwrap_err().message(),
            "unsupported configuration: unknown drm type '(null)' for 'new device'"
        );
        assert_eq!(
            run("storage", "<block>/dev/sda</block>").unwrap_err().message(),
            "internal error: no size supplied for 'new device'"
        );
        assert!(run("storage", "<block>/dev/sda</block><capability type='removable'/>").is_ok());
        assert_eq!(
            run("ap_queue", "<ap-adapter>1</ap-adapter><ap-domain>300</ap-domain>").unwrap_err().message(),
            "unsupported configuration: ap-domain value '300' is out of range for 'new device'"
        );
    }
}
