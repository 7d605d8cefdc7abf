//! virsh's tables (`tools/vsh-table.c`): a header, a dashed line, then rows, each cell
//! preceded by one blank and padded to the column width plus two.

/// A table being filled.
#[derive(Debug)]
pub(crate) struct Table {
    rows: Vec<Vec<String>>,
}

/// `vshTableSafeEncode`: control characters become `\xNN`; the display width in columns.
fn safe_encode(s: &str) -> (String, usize) {
    let mut out = String::with_capacity(s.len());
    let mut width = 0;
    let b = s.as_bytes();
    let mut i = 0;
    for (idx, c) in s.char_indices() {
        if idx < i {
            continue;
        }
        let first = b[idx];
        if (first == b'\\' && b.get(idx + 1) == Some(&b'x')) || first.is_ascii_control() {
            out.push_str(&format!("\\x{first:02x}"));
            width += 4;
        } else {
            out.push(c);
            width += 1;
        }
        i = idx + c.len_utf8();
    }
    (out, width)
}

impl Table {
    /// A table with this header.
    pub(crate) fn new(header: &[&str]) -> Self {
        Self { rows: vec![header.iter().map(|s| (*s).to_owned()).collect()] }
    }

    /// Appends a row (as many cells as the header).
    pub(crate) fn row(&mut self, cells: &[&str]) {
        self.rows.push(cells.iter().map(|s| (*s).to_owned()).collect());
    }

    /// The table as virsh prints it; no header nor dashes when `header` is false (`-q`).
    pub(crate) fn render(&self, header: bool) -> String {
        let ncols = self.rows[0].len();
        let mut max = vec![0usize; ncols];
        let mut enc: Vec<Vec<(String, usize)>> = Vec::with_capacity(self.rows.len());
        for (r, row) in self.rows.iter().enumerate() {
            let cells: Vec<(String, usize)> = row.iter().map(|c| safe_encode(c)).collect();
            if header || r > 0 {
                for (j, (_, w)) in cells.iter().enumerate() {
                    max[j] = max[j].max(*w);
                }
            }
            enc.push(cells);
        }
        let mut out = String::new();
        let print_row = |out: &mut String, cells: &[(String, usize)]| {
            for (j, (text, w)) in cells.iter().enumerate() {
                out.push(' ');
                out.push_str(text);
                if j + 1 < cells.len() {
                    out.extend(std::iter::repeat_n(' ', max[j] - w + 2));
                }
            }
            out.push('\n');
        };
        if header {
            print_row(&mut out, &enc[0]);
            for m in &max {
                out.extend(std::iter::repeat_n('-', m + 3));
            }
            out.push('\n');
        }
        for cells in &enc[1..] {
            print_row(&mut out, cells);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_table() {
        let mut t = Table::new(&["Id", "Name", "State"]);
        t.row(&["1", "test", "running"]);
        assert_eq!(t.render(true), " Id   Name   State\n----------------------\n 1    test   running\n");
        assert_eq!(t.render(false), " 1   test   running\n");
        assert_eq!(Table::new(&["Name", "Path"]).render(true), " Name   Path\n--------------\n");
        assert_eq!(Table::new(&["Name", "Path"]).render(false), "");
    }

    #[test]
    fn control_characters() {
        let mut t = Table::new(&["A"]);
        t.row(&["a\tb"]);
        assert_eq!(t.render(false), " a\\x09b\n");
    }
}
