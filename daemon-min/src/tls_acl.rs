//! libvirtd's `tls_allowed_dn_list`: the client certificate's subject Distinguished Name as
//! GnuTLS writes it (what libvirtd matches and `virt-pki-query-dn` prints), GLib's wildcard
//! match, and the check the TLS listeners run after each handshake
//! ([`adapter_blocking::transport::ServerTls::with_client_check`]).

use std::sync::Arc;

use adapter_blocking::transport::ClientCheck;

/// The listeners' check for `tls_allowed_dn_list = allowed`: a client whose certificate's DN
/// matches none of the patterns is refused (the reason names its DN, for the log).
#[must_use]
pub fn allowed_dn_check(allowed: Vec<String>) -> ClientCheck {
    Arc::new(move |cert: Option<&[u8]>| {
        let Some(der) = cert else {
            return Err("the client sent no certificate, and tls_allowed_dn_list is set".into());
        };
        let dn = certificate_dn(der)?;
        if tls_dn_allowed(&dn, &allowed) {
            Ok(())
        } else {
            Err(format!(
                "the client's Distinguished Name '{dn}' is not on the list of allowed clients (tls_allowed_dn_list)"
            ))
        }
    })
}

/// libvirtd's `tls_allowed_dn_list` check, made after the handshake and before the
/// check byte: whether a client certificate's Distinguished Name (as GnuTLS writes it,
/// attributes in certificate order: `CN=client,O=Example`) matches one of `allowed`.
/// An empty list allows nobody, as in libvirtd (`virnettlscontext.c`).
#[must_use]
pub fn tls_dn_allowed(dn: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|pattern| pattern_match_simple(pattern, dn))
}

/// GLib's `g_pattern_match_simple`, libvirt's wildcard match for `tls_allowed_dn_list` and
/// `sasl_allowed_username_list`: `*` matches any run of characters (none included), `?` exactly
/// one; every other character matches itself and nothing is escaped. Linear in the text for
/// each star (no backtracking blow-up on hostile patterns).
#[must_use]
pub fn pattern_match_simple(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // Where the last star was, and the text position it is currently matched up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            // Let the last star swallow one more character and retry after it.
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A certificate's subject Distinguished Name as GnuTLS's `gnutls_x509_crt_get_dn` writes it:
/// what libvirtd matches `tls_allowed_dn_list` against and `virt-pki-query-dn` prints.
/// Relative names in certificate order joined by `,`, multi-valued ones by `+`; GnuTLS's names
/// for the attribute types it knows (`CN`, `O`, `OU`, `C`, `ST`, `L`, `EMAIL`, `DC`, `UID`, …)
/// and the dotted OID otherwise. A value of the string type GnuTLS expects for its attribute
/// is written as text with `,+"\<>;` escaped (and a leading `#` or space, a trailing space);
/// any other value as `#` and the hex of its DER. `daemon-min/tests/tls_dn.rs` checks this
/// against `virt-pki-query-dn` for each attribute type and string type.
///
/// # Errors
/// When `der` is not an X.509 certificate, or a directory string (`CN`, `O`, …) is empty
/// (GnuTLS refuses such a certificate, and so libvirtd does).
pub fn certificate_dn(der: &[u8]) -> Result<String, String> {
    use x509_parser::der_parser::asn1_rs::ToDer;
    use x509_parser::prelude::FromDer;
    let bad = |why: String| format!("cannot read the client certificate's subject: {why}");
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der).map_err(|e| bad(e.to_string()))?;
    let mut dn = String::new();
    for (i, rdn) in cert.subject().iter_rdn().enumerate() {
        if i > 0 {
            dn.push(',');
        }
        for (j, atv) in rdn.iter().enumerate() {
            if j > 0 {
                dn.push('+');
            }
            let oid = atv.attr_type().to_id_string();
            let known = dn_attribute(&oid);
            dn.push_str(known.and_then(|(name, _)| name).unwrap_or(&oid));
            dn.push('=');
            let value = atv.attr_value();
            match known.and_then(|(_, syntax)| dn_string(syntax, value)) {
                Some(text) if text.is_empty() => return Err(bad(format!("an empty {oid} value"))),
                Some(text) => escape_dn_value(&text, &mut dn),
                None => {
                    dn.push('#');
                    dn.push_str(&hex(&value.to_der_vec().map_err(|e| bad(e.to_string()))?));
                }
            }
        }
    }
    Ok(dn)
}

/// The string types GnuTLS decodes for an attribute; anything else it writes as hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DnSyntax {
    /// X.520 DirectoryString: UTF-8, printable, teletex, BMP (universal, oddly, as `#` and
    /// the hex of its content).
    Directory,
    /// PrintableString only.
    Printable,
    /// IA5String only.
    Ia5,
    /// NumericString only.
    Numeric,
    /// BMPString only.
    Bmp,
}

/// GnuTLS's table of attribute types: the name it writes (`None`: the dotted OID) and the
/// string type it decodes. Types not here are written as `OID=#hex`.
fn dn_attribute(oid: &str) -> Option<(Option<&'static str>, DnSyntax)> {
    use DnSyntax::{Bmp, Directory, Ia5, Numeric, Printable};
    let (name, syntax) = match oid {
        "2.5.4.3" => ("CN", Directory),
        "2.5.4.4" => ("surName", Directory),
        "2.5.4.5" => ("serialNumber", Printable),
        "2.5.4.6" => ("C", Printable),
        "2.5.4.7" => ("L", Directory),
        "2.5.4.8" => ("ST", Directory),
        "2.5.4.9" => ("street", Directory),
        "2.5.4.10" => ("O", Directory),
        "2.5.4.11" => ("OU", Directory),
        "2.5.4.12" => ("title", Directory),
        "2.5.4.13" => ("description", Directory),
        "2.5.4.15" => ("businessCategory", Directory),
        "2.5.4.17" => ("postalCode", Directory),
        "2.5.4.20" => ("telephoneNumber", Printable),
        "2.5.4.41" => ("name", Directory),
        "2.5.4.42" => ("givenName", Directory),
        "2.5.4.43" => ("initials", Directory),
        "2.5.4.44" => ("generationQualifier", Directory),
        "2.5.4.46" => ("dnQualifier", Printable),
        "2.5.4.65" => ("pseudonym", Directory),
        "0.9.2342.19200300.100.1.1" => ("UID", Directory),
        "0.9.2342.19200300.100.1.25" => ("DC", Ia5),
        "1.2.840.113549.1.9.1" => ("EMAIL", Ia5),
        "1.2.840.113549.1.9.7" => return Some((None, Directory)), // challengePassword
        "1.2.840.113549.1.9.20" => return Some((None, Bmp)),      // friendlyName
        "1.2.840.113556.1.4.656" => ("userPrincipalName", Directory),
        "1.3.6.1.4.1.311.60.2.1.1" => ("jurisdictionOfIncorporationLocalityName", Directory),
        "1.3.6.1.4.1.311.60.2.1.2" => ("jurisdictionOfIncorporationStateOrProvinceName", Directory),
        "1.3.6.1.4.1.311.60.2.1.3" => ("jurisdictionOfIncorporationCountryName", Printable),
        "1.3.6.1.5.5.7.9.2" => ("placeOfBirth", Directory),
        "1.3.6.1.5.5.7.9.3" => ("gender", Printable),
        "1.3.6.1.5.5.7.9.4" => ("countryOfCitizenship", Printable),
        "1.3.6.1.5.5.7.9.5" => ("countryOfResidence", Printable),
        "1.2.643.3.131.1.1" => ("INN", Numeric),
        "1.2.643.100.1" => ("OGRN", Numeric),
        "1.2.643.100.3" => ("SNILS", Numeric),
        "1.2.643.100.5" => ("OGRNIP", Numeric),
        _ => return None,
    };
    Some((Some(name), syntax))
}

/// The text GnuTLS writes for a value of the type `syntax` expects; `None` for another type.
fn dn_string(syntax: DnSyntax, value: &x509_parser::der_parser::asn1_rs::Any<'_>) -> Option<String> {
    use x509_parser::der_parser::asn1_rs::Tag;
    let data = value.data;
    let text = || std::str::from_utf8(data).ok().map(str::to_owned);
    if data.is_empty() && syntax != DnSyntax::Directory {
        // GnuTLS writes an empty single-type string as hex (`C=#1300`); an empty directory
        // string makes it refuse the certificate (the caller's error).
        return None;
    }
    match (syntax, value.tag()) {
        (DnSyntax::Printable | DnSyntax::Directory, Tag::PrintableString)
        | (DnSyntax::Ia5, Tag::Ia5String)
        | (DnSyntax::Numeric, Tag::NumericString)
        | (DnSyntax::Directory, Tag::Utf8String) => text(),
        (DnSyntax::Directory, Tag::TeletexString) if data.is_ascii() => text(),
        (DnSyntax::Directory | DnSyntax::Bmp, Tag::BmpString) if data.len().is_multiple_of(2) => {
            let units: Vec<u16> = data.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            String::from_utf16(&units).ok()
        }
        (DnSyntax::Directory, Tag::UniversalString) => Some(format!("#{}", hex(data))),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// RFC 4514 escaping of an attribute value, as GnuTLS does it.
fn escape_dn_value(text: &str, out: &mut String) {
    let last = text.chars().count().saturating_sub(1);
    for (i, c) in text.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_match_simple_is_glibs() {
        use pattern_match_simple as m;
        for (pattern, text, want) in [
            ("", "", true),
            ("", "a", false),
            ("*", "", true),
            ("*", "anything at all", true),
            ("?", "", false),
            ("?", "é", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("CN=client,O=Example", "CN=client,O=Example", true),
            ("CN=client,O=Example", "CN=client,O=Example2", false),
            ("CN=*,O=Example", "CN=client,O=Example", true),
            ("CN=*,O=Example", "CN=a,O=b,O=Example", true),
            ("CN=*,O=Example", "CN=client,O=Other", false),
            ("*CN=client*", "C=GB,CN=client,O=x", true),
            ("C=GB,*", "C=FR,CN=x", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("**a", "bba", true),
            ("a\\*", "a\\b", true),
            ("[ab]", "a", false),
            ("[ab]", "[ab]", true),
        ] {
            assert_eq!(m(pattern, text), want, "{pattern:?} ~ {text:?}");
        }
        // Hostile input stays quick: many stars against a long non-matching text.
        let text = "a".repeat(10_000);
        assert!(!m(&format!("{}b", "*a".repeat(50)), &text));
    }

    #[test]
    fn an_empty_allowed_list_allows_nobody() {
        assert!(!tls_dn_allowed("CN=client", &[]));
        assert!(tls_dn_allowed("CN=client", &["CN=nobody".into(), "CN=c*".into()]));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(certificate_dn(b"").is_err());
        assert!(certificate_dn(&[0x30, 0x82, 0xff, 0xff, 0]).is_err());
        assert!(allowed_dn_check(vec!["*".into()])(Some(b"junk")).is_err());
        assert!(allowed_dn_check(vec!["*".into()])(None).is_err());
    }
}
