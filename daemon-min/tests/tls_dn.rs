//! `daemon_min::tls_acl::certificate_dn` against libvirt's own `virt-pki-query-dn`
//! (GnuTLS's `gnutls_x509_crt_get_dn`, what libvirtd matches `tls_allowed_dn_list` against),
//! for certificates whose subjects use every attribute GnuTLS names, other string types,
//! unknown attribute types and the characters RFC 4514 escapes.
//!
//! Skips loudly without `virt-pki-query-dn` (libvirt-clients); fails instead under `CI=true`.

use std::process::Command;

use daemon_min::tls_acl::certificate_dn;
use rcgen::string::{BmpString, Ia5String, PrintableString, TeletexString, UniversalString};
use rcgen::{CertificateParams, DistinguishedName, DnType, DnValue, KeyPair};
use spec_tests::libvirtd::require_peer;

/// A self-signed certificate with this subject, as DER and PEM.
fn cert(subject: &[(DnType, DnValue)]) -> (Vec<u8>, String) {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    for (ty, value) in subject {
        dn.push(ty.clone(), value.clone());
    }
    params.distinguished_name = dn;
    let key = KeyPair::generate().unwrap();
    let c = params.self_signed(&key).unwrap();
    (c.der().to_vec(), c.pem())
}

fn utf8(s: &str) -> DnValue {
    DnValue::Utf8String(s.to_owned())
}

fn custom(oid: &[u64]) -> DnType {
    DnType::CustomDnType(oid.to_vec())
}

#[test]
fn distinguished_names_match_virt_pki_query_dn() {
    let Some(query) = require_peer("virt-pki-query-dn") else { return };
    let tmp = tempfile::tempdir().unwrap(); // removed when dropped, even if an assertion fails
    let dir = tmp.path();
    let subjects: Vec<Vec<(DnType, DnValue)>> = vec![
        vec![(DnType::CommonName, utf8("spec-tests client")), (DnType::OrganizationName, utf8("spec-tests"))],
        vec![
            (DnType::CountryName, DnValue::PrintableString(PrintableString::try_from("GB").unwrap())),
            (DnType::StateOrProvinceName, utf8("London")),
            (DnType::LocalityName, utf8("London")),
            (DnType::OrganizationName, utf8("Red Hat")),
            (DnType::OrganizationalUnitName, utf8("Virt")),
            (DnType::CommonName, utf8("client.example.org")),
        ],
        // Every character RFC 4514 escapes, leading and trailing specials.
        vec![(DnType::CommonName, utf8("a,b+c\"d\\e<f>g;h=i"))],
        vec![(DnType::CommonName, utf8("#hash")), (DnType::OrganizationName, utf8(" lead and trail "))],
        vec![(DnType::CommonName, utf8("héllo wörld ✓"))],
        // Other string types.
        vec![
            (DnType::CommonName, DnValue::Ia5String(Ia5String::try_from("ia5").unwrap())),
            (DnType::OrganizationName, DnValue::TeletexString(TeletexString::try_from("teletex").unwrap())),
            (DnType::OrganizationalUnitName, DnValue::BmpString(BmpString::try_from("bmp é").unwrap())),
        ],
        vec![(DnType::CommonName, DnValue::UniversalString(UniversalString::try_from("universal").unwrap()))],
        // Attributes GnuTLS knows by name, beyond the usual six.
        vec![
            (custom(&[0, 9, 2342, 19_200_300, 100, 1, 25]), DnValue::Ia5String(Ia5String::try_from("org").unwrap())),
            (custom(&[0, 9, 2342, 19_200_300, 100, 1, 1]), utf8("uid1")),
            (custom(&[1, 2, 840, 113_549, 1, 9, 1]), DnValue::Ia5String(Ia5String::try_from("a@b.c").unwrap())),
            (custom(&[2, 5, 4, 5]), DnValue::PrintableString(PrintableString::try_from("1234").unwrap())),
            (custom(&[2, 5, 4, 4]), utf8("Surname")),
            (custom(&[2, 5, 4, 42]), utf8("Given")),
            (custom(&[2, 5, 4, 12]), utf8("Title")),
            (custom(&[2, 5, 4, 9]), utf8("1 Street")),
            (custom(&[2, 5, 4, 17]), utf8("AB1 2CD")),
        ],
        vec![(DnType::CountryName, utf8("GB"))],
        vec![(custom(&[2, 5, 4, 5]), utf8("99"))],
        vec![(custom(&[1, 2, 840, 113_549, 1, 9, 1]), utf8("x@y.z"))],
        vec![(custom(&[0, 9, 2342, 19_200_300, 100, 1, 25]), utf8("dc"))],
        vec![(
            custom(&[0, 9, 2342, 19_200_300, 100, 1, 1]),
            DnValue::Ia5String(Ia5String::try_from("uidia5").unwrap()),
        )],
        vec![(DnType::CommonName, DnValue::PrintableString(PrintableString::try_from("printable").unwrap()))],
        vec![(DnType::CountryName, DnValue::Ia5String(Ia5String::try_from("FR").unwrap()))],
        vec![(custom(&[2, 5, 4, 46]), DnValue::PrintableString(PrintableString::try_from("dnq").unwrap()))],
        vec![(custom(&[2, 5, 4, 65]), utf8("pseudo"))],
        vec![(custom(&[2, 5, 4, 43]), utf8("ini")), (custom(&[2, 5, 4, 44]), utf8("III"))],
        vec![(custom(&[2, 5, 4, 15]), utf8("business")), (custom(&[2, 5, 4, 16]), utf8("postal addr"))],
        vec![(
            custom(&[1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 3]),
            DnValue::PrintableString(PrintableString::try_from("GB").unwrap()),
        )],
        vec![(custom(&[2, 5, 4, 41]), utf8("name")), (custom(&[2, 5, 4, 18]), utf8("pobox"))],
        vec![(custom(&[2, 5, 4, 3]), utf8(""))],
        vec![(custom(&[2, 5, 4, 13]), utf8("description"))],
        vec![(custom(&[2, 5, 4, 13]), DnValue::PrintableString(PrintableString::try_from("description").unwrap()))],
        vec![(custom(&[2, 5, 4, 20]), utf8("tel"))],
        vec![(custom(&[2, 5, 4, 20]), DnValue::PrintableString(PrintableString::try_from("tel").unwrap()))],
        vec![(custom(&[1, 3, 6, 1, 5, 5, 7, 9, 2]), utf8("place"))],
        vec![(
            custom(&[1, 3, 6, 1, 5, 5, 7, 9, 2]),
            DnValue::PrintableString(PrintableString::try_from("place").unwrap()),
        )],
        vec![(custom(&[1, 3, 6, 1, 5, 5, 7, 9, 3]), utf8("M"))],
        vec![(custom(&[1, 3, 6, 1, 5, 5, 7, 9, 3]), DnValue::PrintableString(PrintableString::try_from("M").unwrap()))],
        vec![(custom(&[1, 3, 6, 1, 5, 5, 7, 9, 4]), utf8("GB"))],
        vec![(
            custom(&[1, 3, 6, 1, 5, 5, 7, 9, 4]),
            DnValue::PrintableString(PrintableString::try_from("GB").unwrap()),
        )],
        vec![(custom(&[1, 3, 6, 1, 5, 5, 7, 9, 5]), utf8("GB"))],
        vec![(
            custom(&[1, 3, 6, 1, 5, 5, 7, 9, 5]),
            DnValue::PrintableString(PrintableString::try_from("GB").unwrap()),
        )],
        vec![(custom(&[1, 2, 840, 113_556, 1, 4, 656]), utf8("upn"))],
        vec![(
            custom(&[1, 2, 840, 113_556, 1, 4, 656]),
            DnValue::PrintableString(PrintableString::try_from("upn").unwrap()),
        )],
        vec![(custom(&[1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 1]), utf8("jl"))],
        vec![(
            custom(&[1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 1]),
            DnValue::PrintableString(PrintableString::try_from("jl").unwrap()),
        )],
        vec![(custom(&[1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 2]), utf8("jst"))],
        vec![(
            custom(&[1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 2]),
            DnValue::PrintableString(PrintableString::try_from("jst").unwrap()),
        )],
        vec![(custom(&[1, 2, 840, 113_549, 1, 9, 20]), utf8("friendly"))],
        vec![(
            custom(&[1, 2, 840, 113_549, 1, 9, 20]),
            DnValue::PrintableString(PrintableString::try_from("friendly").unwrap()),
        )],
        vec![(custom(&[1, 2, 840, 113_549, 1, 9, 7]), utf8("pw"))],
        vec![(
            custom(&[1, 2, 840, 113_549, 1, 9, 7]),
            DnValue::PrintableString(PrintableString::try_from("pw").unwrap()),
        )],
        vec![(custom(&[2, 5, 4, 97]), utf8("orgid"))],
        vec![(custom(&[2, 5, 4, 97]), DnValue::PrintableString(PrintableString::try_from("orgid").unwrap()))],
        vec![(custom(&[1, 2, 643, 3, 131, 1, 1]), utf8("1234"))],
        vec![(
            custom(&[1, 2, 643, 3, 131, 1, 1]),
            DnValue::PrintableString(PrintableString::try_from("1234").unwrap()),
        )],
        vec![(custom(&[1, 2, 643, 100, 1]), utf8("1234"))],
        vec![(custom(&[1, 2, 643, 100, 1]), DnValue::PrintableString(PrintableString::try_from("1234").unwrap()))],
        vec![(custom(&[1, 2, 643, 100, 3]), utf8("1234"))],
        vec![(custom(&[1, 2, 643, 100, 3]), DnValue::PrintableString(PrintableString::try_from("1234").unwrap()))],
        vec![(custom(&[1, 2, 643, 100, 5]), utf8("1234"))],
        vec![(custom(&[1, 2, 643, 100, 5]), DnValue::PrintableString(PrintableString::try_from("1234").unwrap()))],
        vec![(custom(&[2, 5, 4, 14]), utf8("x"))],
        vec![(custom(&[2, 5, 4, 14]), DnValue::PrintableString(PrintableString::try_from("x").unwrap()))],
        vec![(custom(&[2, 5, 4, 19]), utf8("x"))],
        vec![(custom(&[2, 5, 4, 19]), DnValue::PrintableString(PrintableString::try_from("x").unwrap()))],
        vec![(custom(&[2, 5, 4, 26]), utf8("x"))],
        vec![(custom(&[2, 5, 4, 26]), DnValue::PrintableString(PrintableString::try_from("x").unwrap()))],
        vec![(custom(&[2, 5, 4, 45]), utf8("x"))],
        vec![(custom(&[2, 5, 4, 45]), DnValue::PrintableString(PrintableString::try_from("x").unwrap()))],
        vec![(custom(&[2, 5, 4, 51]), utf8("x"))],
        vec![(custom(&[2, 5, 4, 51]), DnValue::PrintableString(PrintableString::try_from("x").unwrap()))],
        vec![(custom(&[2, 5, 4, 54]), utf8("x"))],
        vec![(custom(&[2, 5, 4, 54]), DnValue::PrintableString(PrintableString::try_from("x").unwrap()))],
        vec![(custom(&[2, 5, 4, 72]), utf8("x"))],
        vec![(custom(&[2, 5, 4, 72]), DnValue::PrintableString(PrintableString::try_from("x").unwrap()))],
        vec![(custom(&[2, 5, 4, 100]), utf8("x"))],
        vec![(custom(&[2, 5, 4, 100]), DnValue::PrintableString(PrintableString::try_from("x").unwrap()))],
        vec![(custom(&[1, 3, 6, 1, 5, 5, 7, 9, 1]), utf8("x"))],
        vec![(custom(&[1, 3, 6, 1, 5, 5, 7, 9, 1]), DnValue::PrintableString(PrintableString::try_from("x").unwrap()))],
        vec![(custom(&[2, 5, 4, 1]), utf8("x"))],
        vec![(custom(&[2, 5, 4, 1]), DnValue::PrintableString(PrintableString::try_from("x").unwrap()))],
        vec![(custom(&[2, 5, 4, 2]), utf8("x"))],
        vec![(custom(&[2, 5, 4, 2]), DnValue::PrintableString(PrintableString::try_from("x").unwrap()))],
        vec![(custom(&[2, 5, 4, 24]), utf8("x"))],
        vec![(custom(&[2, 5, 4, 24]), DnValue::PrintableString(PrintableString::try_from("x").unwrap()))],
        vec![(custom(&[1, 2, 840, 113_549, 1, 9, 20]), DnValue::BmpString(BmpString::try_from("friendly").unwrap()))],
        vec![(DnType::CountryName, DnValue::TeletexString(TeletexString::try_from("GB").unwrap()))],
        vec![(DnType::CountryName, DnValue::PrintableString(PrintableString::try_from("").unwrap()))],
        vec![(custom(&[1, 2, 3, 4]), utf8(""))],
        vec![(DnType::CommonName, DnValue::BmpString(BmpString::try_from("").unwrap()))],
        // An attribute type GnuTLS has no name for.
        vec![(custom(&[1, 2, 3, 4]), utf8("unknown")), (DnType::CommonName, utf8("x"))],
    ];
    let mut checked = 0;
    for (i, subject) in subjects.iter().enumerate() {
        let (der, pem) = cert(subject);
        let path = dir.join(format!("cert{i}.pem"));
        std::fs::write(&path, pem).unwrap();
        let out = Command::new(&query).arg(&path).env("LC_ALL", "C").output().unwrap();
        let ours = certificate_dn(&der);
        if out.status.success() {
            let theirs = String::from_utf8(out.stdout).unwrap();
            assert_eq!(ours.ok().as_deref(), Some(theirs.trim_end_matches('\n')), "subject {i}: {subject:?}");
        } else {
            // GnuTLS refuses the certificate (libvirtd then refuses the client): so do we.
            let theirs = String::from_utf8_lossy(&out.stderr);
            assert!(ours.is_err(), "subject {i}: {subject:?}: virt-pki-query-dn says {theirs}, we say {ours:?}");
        }
        checked += 1;
    }
    assert_eq!(checked, subjects.len());
}
