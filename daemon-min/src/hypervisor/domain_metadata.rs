//! A domain's metadata (`virDomainGetMetadata` / `virDomainSetMetadata`): its `<title>`, its
//! `<description>`, and the elements of `<metadata>` that applications keep under their own XML
//! namespace. As libvirt 9.0's test driver (`virDomainObjGetMetadata`,
//! `virDomainObjSetMetadata`), with the public API's argument checks; a change raises
//! `VIR_DOMAIN_EVENT_ID_METADATA_CHANGE`.

use proto_core::error::{ErrorCode, ErrorDomain};

use super::domain::DomainHandle;
use super::domain_tune::{AFFECT_CONFIG, AFFECT_LIVE};
use super::error::{self, Result};
use super::events::Event;
use super::xml::{self, Buf, Element, Node};
use super::Hypervisor;

/// `VIR_DOMAIN_METADATA_DESCRIPTION`.
const DESCRIPTION: i32 = 0;
/// `VIR_DOMAIN_METADATA_TITLE`.
const TITLE: i32 = 1;
/// `VIR_DOMAIN_METADATA_ELEMENT`.
const ELEMENT: i32 = 2;

fn invalid_arg(message: String) -> error::Error {
    error::e(ErrorCode::VIR_ERR_INVALID_ARG, ErrorDomain::VIR_FROM_DOMAIN, format!("invalid argument: {message}"))
}

/// `virCheckNullArg` / `virCheckNonNullArg` of the public API.
fn check_arg(name: &str, value: Option<&str>, want_null: bool, function: &str) -> Result<()> {
    match (want_null, value) {
        (true, Some(_)) => Err(invalid_arg(format!("{name} in {function} must be NULL"))),
        (false, None) => Err(invalid_arg(format!("{name} in {function} must not be NULL"))),
        _ => Ok(()),
    }
}

fn unknown_type(kind: i32) -> error::Error {
    invalid_arg(format!("unknown metadata type '{kind}'"))
}

fn not_present() -> error::Error {
    error::e(
        ErrorCode::VIR_ERR_NO_DOMAIN_METADATA,
        ErrorDomain::VIR_FROM_DOMAIN,
        "metadata not found: Requested metadata element is not present",
    )
}

/// The namespace URI of element `e` (its prefix's declaration on itself or `scope`).
fn namespace_of<'a>(e: &'a Element, scope: &'a Element) -> Option<&'a str> {
    let decl = match e.name.split_once(':') {
        Some((prefix, _)) => format!("xmlns:{prefix}"),
        None => "xmlns".to_owned(),
    };
    e.attr(&decl).or_else(|| scope.attr(&decl))
}

/// `xmlValidateNCName`: a namespace prefix.
fn is_ncname(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Gives `e` and its descendants without a prefix the prefix `key` (`virXMLInjectNamespace`).
fn add_prefix(e: &mut Element, key: &str) {
    if !e.name.contains(':') {
        e.name = format!("{key}:{}", e.name);
    }
    for c in &mut e.children {
        if let Node::Element(c) = c {
            add_prefix(c, key);
        }
    }
}

/// Drops the prefix `prefix` from `e` and its descendants (`virXMLRemoveElementNamespace`).
fn strip_prefix(e: &mut Element, prefix: &str) {
    if let Some(local) = e.name.strip_prefix(prefix).and_then(|r| r.strip_prefix(':')) {
        e.name = local.to_owned();
    }
    for c in &mut e.children {
        if let Node::Element(c) = c {
            strip_prefix(c, prefix);
        }
    }
}

impl Hypervisor {
    /// `DOMAIN_GET_METADATA`.
    pub fn domain_get_metadata(&self, dom: &DomainHandle, kind: i32, uri: Option<&str>, flags: u32) -> Result<String> {
        let function = "virDomainGetMetadata";
        if flags & AFFECT_LIVE != 0 && flags & AFFECT_CONFIG != 0 {
            return Err(invalid_arg(
                "Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive".into(),
            ));
        }
        match kind {
            TITLE | DESCRIPTION => check_arg("uri", uri, true, function)?,
            ELEMENT => check_arg("uri", uri, false, function)?,
            _ => {}
        }
        error::check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "testDomainGetMetadata")?;
        let i = self.dom_index(dom)?;
        if !(DESCRIPTION..=ELEMENT).contains(&kind) {
            return Err(unknown_type(kind));
        }
        let def = self.one_def(i, flags)?;
        let found = match kind {
            DESCRIPTION => def.description.clone(),
            TITLE => def.title.clone(),
            _ => def.metadata.as_ref().and_then(|m| {
                let uri = uri.unwrap_or_default();
                let node = m.elements().find(|c| namespace_of(c, m) == Some(uri))?;
                let mut copy = node.clone();
                if let Some((prefix, _)) = node.name.split_once(':') {
                    strip_prefix(&mut copy, prefix);
                    copy.attrs.retain(|(k, v)| !(k == &format!("xmlns:{prefix}") && v == uri));
                } else {
                    copy.attrs.retain(|(k, v)| !(k == "xmlns" && v == uri));
                }
                let mut b = Buf::new();
                b.raw_element(&copy);
                Some(b.finish().trim_end().to_owned())
            }),
        };
        found.ok_or_else(not_present)
    }

    /// `DOMAIN_SET_METADATA`: `metadata` empty or absent removes the field.
    pub fn domain_set_metadata(
        &mut self,
        dom: &DomainHandle,
        kind: i32,
        metadata: Option<&str>,
        key: Option<&str>,
        uri: Option<&str>,
        flags: u32,
    ) -> Result<()> {
        let function = "virDomainSetMetadata";
        match kind {
            TITLE | DESCRIPTION => {
                if kind == TITLE && metadata.is_some_and(|m| m.contains('\n')) {
                    return Err(invalid_arg("metadata title can't contain newlines".into()));
                }
                check_arg("uri", uri, true, function)?;
                check_arg("key", key, true, function)?;
            }
            ELEMENT => {
                check_arg("uri", uri, false, function)?;
                if metadata.is_some() {
                    check_arg("key", key, false, function)?;
                }
            }
            _ => {}
        }
        error::check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "testDomainSetMetadata")?;
        let i = self.dom_index(dom)?;
        let flags = self.impact(i, flags)?;
        if !(DESCRIPTION..=ELEMENT).contains(&kind) {
            return Err(unknown_type(kind));
        }
        // The new element, namespaced, before anything changes.
        let element = match (kind, metadata) {
            (ELEMENT, Some(text)) => {
                let mut root = xml::parse(text, "(metadata_xml)")
                    .map_err(|e| error::e(ErrorCode::VIR_ERR_XML_DETAIL, ErrorDomain::VIR_FROM_DOMAIN, e.message))?;
                let key = key.unwrap_or_default();
                if !is_ncname(key) {
                    return Err(error::e(
                        ErrorCode::VIR_ERR_INTERNAL_ERROR,
                        ErrorDomain::VIR_FROM_XML,
                        "internal error: failed to validate prefix for a new XML namespace",
                    ));
                }
                add_prefix(&mut root, key);
                root.attrs.insert(0, (format!("xmlns:{key}"), uri.unwrap_or_default().to_owned()));
                Some(root)
            }
            _ => None,
        };
        let (live, pers) = self.defs_mut(i, flags);
        for def in [live, pers].into_iter().flatten() {
            let text = metadata.filter(|m| !m.is_empty()).map(str::to_owned);
            match kind {
                DESCRIPTION => def.description = text,
                TITLE => def.title = text,
                _ => {
                    let uri = uri.unwrap_or_default();
                    // libvirt creates `<metadata>` for a new element and keeps it, empty, once
                    // its last element is removed.
                    if element.is_none() && def.metadata.is_none() {
                        continue;
                    }
                    let m = def.metadata.get_or_insert_with(|| Element::new("metadata"));
                    let scope = Element { name: String::new(), attrs: m.attrs.clone(), children: Vec::new() };
                    m.children.retain(|c| !matches!(c, Node::Element(e) if namespace_of(e, &scope) == Some(uri)));
                    if let Some(e) = &element {
                        m.children.push(Node::Element(e.clone()));
                    }
                }
            }
        }
        self.persist_domain(i);
        let dom = self.domains[i].handle();
        self.events.push(Event::DomainMetadataChange { dom, kind, nsuri: uri.map(str::to_owned) });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert!(is_ncname("app1") && is_ncname("_x.y-z"));
        assert!(!is_ncname("") && !is_ncname("1a") && !is_ncname("a:b") && !is_ncname("-a"));
    }
}
