//! Saving and restoring domains, save images and core dumps (the test driver's `domainSave*`,
//! `domainRestore*`, `domainSaveImage*` and `domainCoreDump*` entries), and starting domains
//! with files: the test driver takes no descriptors, so `DOMAIN_CREATE_WITH_FILES` and
//! `DOMAIN_CREATE_XML_WITH_FILES` start the domain as their plain siblings do.

use proto_core::programs::remote::*;

use super::table::{on, Entry};
use super::wire::*;

fn dxml(v: &RemoteString) -> Option<String> {
    v.as_ref().map(ToString::to_string)
}

pub(super) static ENTRIES: &[Entry] = &[
    on!(DomainSave, try |m, a| m.domain_save(&dom_in(&a.dom), a.to.as_bytes(), None, 0)),
    on!(DomainSaveFlags, try |m, a| m.domain_save(&dom_in(&a.dom), a.to.as_bytes(), dxml(&a.dxml).as_deref(), a.flags)),
    on!(DomainRestore, try |m, a| m.domain_restore(a.from.as_bytes(), None, 0)),
    on!(DomainRestoreFlags, try |m, a| m.domain_restore(a.from.as_bytes(), dxml(&a.dxml).as_deref(), a.flags)),
    on!(DomainSaveImageGetXmlDesc, try |m, a| m
        .domain_save_image_get_xml_desc(a.file.as_bytes(), a.flags)
        .map(|x| RemoteDomainSaveImageGetXmlDescRet { xml: s(&x) })),
    on!(DomainSaveImageDefineXml, try |m, a| m.domain_save_image_define_xml(
        a.file.as_bytes(),
        &a.dxml.to_string(),
        a.flags
    )),
    on!(DomainCoreDump, try |m, a| m.domain_core_dump(&dom_in(&a.dom), a.to.as_bytes(), 0, a.flags)),
    on!(DomainCoreDumpWithFormat, try |m, a| m.domain_core_dump(&dom_in(&a.dom), a.to.as_bytes(), a.dumpformat, a.flags)),
    on!(DomainCreateWithFiles, try |m, a| m
        .domain_create(&dom_in(&a.dom), a.flags)
        .map(|d| RemoteDomainCreateWithFilesRet { dom: dom_out(&d) })),
    on!(DomainCreateXmlWithFiles, try |m, a| m
        .domain_create_xml(&a.xml_desc.to_string(), a.flags)
        .map(|d| RemoteDomainCreateXmlWithFilesRet { dom: dom_out(&d) })),
];
