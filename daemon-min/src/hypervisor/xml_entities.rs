//! The general entities a document declares in its internal DTD subset, and the bounds on
//! expanding them.
//!
//! libvirt parses client documents with libxml2 without entity substitution and without network
//! access: an internal entity (`<!ENTITY x 'text'>`) may be referenced in content and attribute
//! values and its text is seen by libvirt's XPath queries (markup inside an entity is not: its
//! elements are not children of the element that references it), an external entity (`SYSTEM` or
//! `PUBLIC`) is never loaded and reads as empty, a parameter entity in the internal subset adds
//! its declarations. libxml2 refuses an entity that refers to itself, or whose expansion is far
//! larger than the document ("Detected an entity reference loop"). Here the same, with fixed
//! bounds: an entity whose full expansion holds more than [`MAX_REFERENCES`] references or more
//! than [`MAX_EXPANDED_BYTES`] bytes is refused where it is first used, and a document's
//! expansions together may not exceed [`MAX_EXPANDED_BYTES`] plus ten times its own size.
//! Nothing here recurses deeper than [`MAX_REFERENCES`] frames, whatever the input.

use std::collections::{HashMap, HashSet};

/// References an entity's full expansion may hold (the nested ones included).
pub(crate) const MAX_REFERENCES: u64 = 100;
/// Bytes an entity's full expansion may hold.
pub(crate) const MAX_EXPANDED_BYTES: u64 = 1 << 20;
/// Parameter-entity expansions the internal subset may make.
const MAX_PARAMETER_EXPANSIONS: usize = 1000;

/// libxml2's message for a self-referencing or amplifying entity.
pub(crate) const LOOP: &str = "Detected an entity reference loop";

#[derive(Debug, Clone)]
enum Decl {
    /// Replacement text, character references already replaced.
    Internal(String),
    /// Declared but never loaded: expands to nothing.
    External,
}

/// Sizes of an entity's full expansion, saturating.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    refs: u64,
    bytes: u64,
}

/// Why an entity cannot be used: the message and where to show it (`text` is the replacement
/// text of the entity in which it was found, `pos` a byte offset in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntityError {
    pub(crate) what: String,
    pub(crate) text: String,
    pub(crate) pos: usize,
}

/// The general entities of one document.
#[derive(Debug, Default)]
pub(crate) struct Entities {
    general: HashMap<String, Decl>,
    costs: HashMap<String, Result<Cost, EntityError>>,
}

/// The bytes after `<!DOCTYPE`: the internal subset is what lies between `[` and `]`.
pub(crate) fn from_doctype(doctype: &str) -> Result<Entities, String> {
    let Some(open) = doctype.find('[') else { return Ok(Entities::default()) };
    let close = doctype.rfind(']').filter(|&c| c > open).unwrap_or(doctype.len());
    let mut ents = Entities::default();
    let mut params: HashMap<String, String> = HashMap::new();
    // Work list of subset texts (the subset itself, then parameter-entity replacements), read
    // front to back without recursion.
    let mut pending: Vec<String> = vec![doctype[open + 1..close].to_owned()];
    let mut expansions = 0usize;
    while let Some(text) = pending.pop() {
        let mut rest = text.as_str();
        loop {
            rest = rest.trim_start();
            if rest.is_empty() {
                break;
            }
            if let Some(after) = rest.strip_prefix("<!ENTITY") {
                let (decl, tail) = entity_decl(after)?;
                match decl {
                    (true, name, Decl::Internal(v)) => {
                        params.entry(name).or_insert(v);
                    }
                    (true, name, Decl::External) => {
                        params.entry(name).or_default();
                    }
                    (false, name, d) => {
                        ents.general.entry(name).or_insert(d);
                    }
                }
                rest = tail;
            } else if let Some(after) = rest.strip_prefix('%') {
                let end = after.find(';').ok_or("PEReference: expecting ';'")?;
                let name = &after[..end];
                let value = params.get(name).ok_or_else(|| format!("PEReference: %{name}; not found"))?.clone();
                expansions += 1;
                if expansions > MAX_PARAMETER_EXPANSIONS {
                    return Err(LOOP.to_owned());
                }
                // Finish this text after the replacement: push the tail first.
                pending.push(after[end + 1..].to_owned());
                pending.push(value);
                break;
            } else if let Some(after) = rest.strip_prefix("<!--") {
                rest = after.find("-->").map_or("", |i| &after[i + 3..]);
            } else if rest.starts_with("<!") || rest.starts_with("<?") {
                // Element, attribute-list and notation declarations, processing instructions:
                // nothing libvirt reads. Skip to the end of the declaration, past quoted text.
                rest = skip_declaration(rest);
            } else {
                return Err("internal error: xmlParseInternalSubset: error detected in Markup declaration".to_owned());
            }
        }
    }
    Ok(ents)
}

fn skip_declaration(s: &str) -> &str {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return &s[i + 1..],
            _ => {}
        }
    }
    ""
}

type Declared = (bool, String, Decl);

/// `[%] name ('value' | SYSTEM 'x' | PUBLIC 'x' 'y') [NDATA n] >` after `<!ENTITY`.
fn entity_decl(s: &str) -> Result<(Declared, &str), String> {
    let mut rest = s.trim_start();
    let parameter = if let Some(r) = rest.strip_prefix('%') {
        rest = r.trim_start();
        true
    } else {
        false
    };
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '\'' || c == '"')
        .ok_or("Space required after the entity name")?;
    let name = rest[..end].to_owned();
    if name.is_empty() {
        return Err("xmlParseEntityDecl: no name".to_owned());
    }
    rest = rest[end..].trim_start();
    let decl = if rest.starts_with('\'') || rest.starts_with('"') {
        let (v, r) = quoted(rest)?;
        rest = r;
        Decl::Internal(replace_char_refs(v)?)
    } else if let Some(r) = rest.strip_prefix("SYSTEM") {
        let (_, r) = quoted(r.trim_start())?;
        rest = r;
        Decl::External
    } else if let Some(r) = rest.strip_prefix("PUBLIC") {
        let (_, r) = quoted(r.trim_start())?;
        let (_, r) = quoted(r.trim_start())?;
        rest = r;
        Decl::External
    } else {
        return Err("Entity value required".to_owned());
    };
    let close = rest.find('>').ok_or("xmlParseEntityDecl: entity not terminated")?;
    Ok(((parameter, name, decl), &rest[close + 1..]))
}

fn quoted(s: &str) -> Result<(&str, &str), String> {
    let q = s.chars().next().filter(|c| *c == '\'' || *c == '"').ok_or("EntityValue: \" or ' expected")?;
    let body = &s[1..];
    let end = body.find(q).ok_or("EntityValue: \" or ' expected")?;
    Ok((&body[..end], &body[end + 1..]))
}

/// Character references in an entity value are replaced when it is declared; entity references
/// stay. A reference to a character XML does not allow is refused, as libxml2 refuses it.
fn replace_char_refs(v: &str) -> Result<String, String> {
    let mut out = String::with_capacity(v.len());
    let mut rest = v;
    while let Some(i) = rest.find("&#") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let parsed = after.find(';').and_then(|end| {
            let digits = &after[..end];
            let n = match digits.strip_prefix('x') {
                Some(h) => u32::from_str_radix(h, 16).ok(),
                None => digits.parse::<u32>().ok(),
            };
            n.and_then(char::from_u32).map(|c| (c, end))
        });
        match parsed {
            Some((c, _)) if matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}') =>
            {
                return Err(format!("xmlParseCharRef: invalid xmlChar value {}", u32::from(c)));
            }
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("&#");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The general entity references (`&name;`, not `&#…;`) in `text`, with the byte offset just
/// after each.
fn references(text: &str) -> impl Iterator<Item = (&str, usize)> {
    let mut at = 0;
    std::iter::from_fn(move || loop {
        let i = text[at..].find('&')? + at;
        let after = &text[i + 1..];
        let end = after.find(';')?;
        at = i + 1 + end + 1;
        let name = &after[..end];
        if !name.starts_with('#') && !name.is_empty() {
            return Some((name, at));
        }
    })
}

fn predefined(name: &str) -> Option<&'static str> {
    Some(match name {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        _ => return None,
    })
}

impl Entities {
    /// Whether `name` is declared.
    pub(crate) fn is_declared(&self, name: &str) -> bool {
        self.general.contains_key(name)
    }

    /// Works out the cost of every entity `raw` (an attribute value as written) refers to, in
    /// the order of the references, so that [`attribute_text`](Self::attribute_text) can answer
    /// from a shared borrow.
    pub(crate) fn prepare_references(&mut self, raw: &str) {
        let names: Vec<String> = references(raw).map(|(n, _)| n.to_owned()).collect();
        for n in names {
            let _ = self.cost(&n);
        }
    }

    /// For attribute values (after [`prepare_references`](Self::prepare_references)): the replacement text of an
    /// entity that may be used (declared, no loop, within the bounds) and what its expansion
    /// costs in bytes; the caller expands the references it contains.
    pub(crate) fn attribute_text(&self, name: &str) -> Option<(&str, u64)> {
        let Some(Ok(cost)) = self.costs.get(name) else { return None };
        match self.general.get(name)? {
            Decl::Internal(v) => Some((v.as_str(), cost.bytes)),
            Decl::External => Some(("", 0)),
        }
    }

    /// The full expansion's size of `name`, computed once; an error names the innermost entity
    /// that loops or is too large. Iterative: entity chains of any length use no stack.
    fn cost(&mut self, name: &str) -> Result<Cost, EntityError> {
        if let Some(c) = self.costs.get(name) {
            return c.clone();
        }
        // Depth-first over the reference graph with an explicit stack of entity names; a name
        // on the stack that is met again is a loop.
        let mut stack: Vec<String> = vec![name.to_owned()];
        let mut on_stack: HashSet<String> = HashSet::from([name.to_owned()]);
        while let Some(top) = stack.last().cloned() {
            let text = match self.general.get(&top) {
                Some(Decl::Internal(v)) => v.clone(),
                Some(Decl::External) | None => {
                    self.costs.insert(top.clone(), Ok(Cost::default()));
                    on_stack.remove(&top);
                    stack.pop();
                    continue;
                }
            };
            // The first reference whose cost is still unknown: descend into it.
            let mut descend = None;
            for (r, after) in references(&text) {
                if predefined(r).is_some() || !self.general.contains_key(r) || self.costs.contains_key(r) {
                    continue;
                }
                if on_stack.contains(r) {
                    let err = EntityError { what: LOOP.to_owned(), text: text.clone(), pos: after };
                    for n in &stack {
                        self.costs.insert(n.clone(), Err(err.clone()));
                    }
                    return Err(err);
                }
                descend = Some(r.to_owned());
                break;
            }
            if let Some(r) = descend {
                on_stack.insert(r.clone());
                stack.push(r);
                continue;
            }
            // Every reference's cost is known: add them up.
            let mut cost = Cost { refs: 0, bytes: text.len() as u64 };
            let mut result = Ok(());
            // libxml2 notices the growth while parsing the entity's first reference: the error
            // points just after it.
            let first_after = references(&text).next().map_or(0, |(_, a)| a);
            for (r, _) in references(&text) {
                let inner = match predefined(r) {
                    Some(_) => Cost::default(),
                    None => match self.costs.get(r) {
                        Some(Ok(c)) => *c,
                        Some(Err(e)) => {
                            result = Err(e.clone());
                            break;
                        }
                        None => Cost::default(), // undeclared: reported when expanded
                    },
                };
                cost.refs = cost.refs.saturating_add(1).saturating_add(inner.refs);
                cost.bytes = cost.bytes.saturating_add(inner.bytes);
                if cost.refs > MAX_REFERENCES || cost.bytes > MAX_EXPANDED_BYTES {
                    result = Err(EntityError { what: LOOP.to_owned(), text: text.clone(), pos: first_after });
                    break;
                }
            }
            let entry = result.map(|()| cost);
            self.costs.insert(top.clone(), entry);
            on_stack.remove(&top);
            stack.pop();
        }
        self.costs.get(name).cloned().unwrap_or(Ok(Cost::default()))
    }

    /// The text `&name;` contributes to its element (markup inside the entity contributes its
    /// text only). `budget` is what the document may still expand, decreased here.
    pub(crate) fn expand_text(&mut self, name: &str, budget: &mut u64) -> Result<String, EntityError> {
        let cost = self.cost(name)?;
        if cost.bytes > *budget {
            let text = match self.general.get(name) {
                Some(Decl::Internal(v)) => v.clone(),
                _ => String::new(),
            };
            return Err(EntityError { what: LOOP.to_owned(), text, pos: 0 });
        }
        *budget -= cost.bytes;
        let mut out = String::new();
        self.expand_into(name, &mut out, 0)?;
        Ok(out)
    }

    /// Appends the text of `name`'s expansion. Depth is bounded by [`MAX_REFERENCES`]: the cost
    /// check above refused anything with more nested references.
    fn expand_into(&self, name: &str, out: &mut String, depth: u64) -> Result<(), EntityError> {
        let Some(Decl::Internal(text)) = self.general.get(name) else { return Ok(()) };
        if depth > MAX_REFERENCES {
            return Err(EntityError { what: LOOP.to_owned(), text: text.clone(), pos: 0 });
        }
        let mut rest = text.as_str();
        let mut in_tag = false;
        let mut offset = 0usize;
        while !rest.is_empty() {
            let next = rest.find(['<', '>', '&']).unwrap_or(rest.len());
            if !in_tag {
                out.push_str(&rest[..next]);
            }
            if next == rest.len() {
                break;
            }
            let c = rest.as_bytes()[next];
            let at = offset + next;
            match c {
                b'<' => {
                    let after = &rest[next + 1..];
                    let valid = after
                        .starts_with(|ch: char| ch.is_alphabetic() || ch == '_' || ch == '/' || ch == '!' || ch == '?');
                    if !valid {
                        return Err(EntityError {
                            what: "StartTag: invalid element name".to_owned(),
                            text: text.clone(),
                            pos: at + 1,
                        });
                    }
                    in_tag = true;
                    rest = &rest[next + 1..];
                    offset = at + 1;
                }
                b'>' => {
                    if !in_tag {
                        out.push('>');
                    }
                    in_tag = false;
                    rest = &rest[next + 1..];
                    offset = at + 1;
                }
                _ => {
                    let after = &rest[next + 1..];
                    let Some(end) = after.find(';') else {
                        return Err(EntityError {
                            what: "EntityRef: expecting ';'".to_owned(),
                            text: text.clone(),
                            pos: at + 1,
                        });
                    };
                    let r = &after[..end];
                    let consumed = next + 1 + end + 1;
                    if !in_tag {
                        if let Some(p) = predefined(r) {
                            out.push_str(p);
                        } else if self.general.contains_key(r) {
                            self.expand_into(r, out, depth + 1)?;
                        } else {
                            return Err(EntityError {
                                what: format!("Entity '{r}' not defined"),
                                text: text.clone(),
                                pos: offset + consumed,
                            });
                        }
                    }
                    rest = &rest[consumed..];
                    offset += consumed;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ents(subset: &str) -> Entities {
        from_doctype(&format!("d [{subset}]")).unwrap()
    }

    #[test]
    fn internal_nested_external_and_parameter_entities() {
        let mut e = ents("<!ENTITY a 'A'><!ENTITY b '&a;&a;'><!ENTITY x SYSTEM '/etc/passwd'><!ENTITY a 'no'>");
        let mut budget = 1000;
        assert_eq!(e.expand_text("b", &mut budget).unwrap(), "AA");
        assert_eq!(e.expand_text("x", &mut budget).unwrap(), "");
        let mut p = ents("<!ENTITY % p '<!ENTITY y \"pp\">'> %p;");
        assert_eq!(p.expand_text("y", &mut budget).unwrap(), "pp");
        let mut m = ents("<!ENTITY m '<b>t</b>u&#65;&amp;'>");
        assert_eq!(m.expand_text("m", &mut budget).unwrap(), "tuA&");
    }

    #[test]
    fn loops_and_amplification_are_refused_at_the_innermost_entity() {
        let mut e = ents("<!ENTITY a '&b;'><!ENTITY b '&a;'>");
        let err = e.expand_text("a", &mut 1000).unwrap_err();
        assert_eq!((err.what.as_str(), err.text.as_str(), err.pos), (LOOP, "&a;", 3));
        let mut lol = String::from("<!ENTITY a 'aaaaaaaaaa'>");
        let mut prev = 'a';
        for n in "bcdefghijklmnop".chars() {
            lol.push_str(&format!("<!ENTITY {n} '{}'>", format!("&{prev};").repeat(10)));
            prev = n;
        }
        let mut e = ents(&lol);
        let err = e.expand_text("p", &mut { u64::MAX }).unwrap_err();
        assert_eq!((err.text.as_str(), err.pos), ("&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;", 3));
        // A chain of 100,000 entities: refused without deep recursion.
        let mut chain = String::new();
        for i in 0..100_000 {
            chain.push_str(&format!("<!ENTITY e{i} '&e{};'>", i + 1));
        }
        let mut e = ents(&chain);
        assert!(e.expand_text("e0", &mut { u64::MAX }).is_err());
    }
}
