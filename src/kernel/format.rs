//! Event `format` files: the layout of each event's binary record.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub ctype: String,
    pub offset: usize,
    pub size: usize,
    pub signed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    pub name: String,
    pub id: u16,
    /// The event's own fields (the `common_*` ones are left out).
    pub fields: Vec<Field>,
}

impl Format {
    pub fn parse(text: &str) -> Option<Format> {
        let mut name = None;
        let mut id = None;
        let mut fields = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("name:") {
                name = Some(rest.trim().to_string());
            } else if let Some(rest) = line.strip_prefix("ID:") {
                id = rest.trim().parse().ok();
            } else if let Some(rest) = line.strip_prefix("field:") {
                if let Some(field) = parse_field(rest) {
                    if !field.name.starts_with("common_") {
                        fields.push(field);
                    }
                }
            }
        }
        Some(Format {
            name: name?,
            id: id?,
            fields,
        })
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// `unsigned long fd;\toffset:16;\tsize:8;\tsigned:0;`
fn parse_field(text: &str) -> Option<Field> {
    let mut parts = text.split(';').map(str::trim);
    let decl = parts.next()?;
    let mut offset = None;
    let mut size = None;
    let mut signed = false;
    for part in parts {
        if let Some(v) = part.strip_prefix("offset:") {
            offset = v.parse().ok();
        } else if let Some(v) = part.strip_prefix("size:") {
            size = v.parse().ok();
        } else if let Some(v) = part.strip_prefix("signed:") {
            signed = v == "1";
        }
    }
    // The name is the last identifier: `char comm[16]`, `__data_loc char[] name`.
    let (decl, array) = match decl.strip_suffix(']') {
        Some(d) => (d.rsplit_once('[')?.0.trim_end(), true),
        None => (decl, false),
    };
    let split = decl.rfind(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    let name = decl[split + 1..].to_string();
    let ctype = decl[..split + 1].trim().to_string() + if array { "[]" } else { "" };
    Some(Field {
        name,
        ctype,
        offset: offset?,
        size: size?,
        signed,
    })
}

/// Reads an integer field from a record, sign-extended when the field is signed.
pub fn read_int(data: &[u8], field: &Field) -> Option<i64> {
    let bytes = data.get(field.offset..field.offset + field.size)?;
    Some(match (field.size, field.signed) {
        (1, true) => bytes[0] as i8 as i64,
        (1, false) => bytes[0] as i64,
        (2, true) => i16::from_le_bytes(bytes.try_into().ok()?) as i64,
        (2, false) => u16::from_le_bytes(bytes.try_into().ok()?) as i64,
        (4, true) => i32::from_le_bytes(bytes.try_into().ok()?) as i64,
        (4, false) => u32::from_le_bytes(bytes.try_into().ok()?) as i64,
        (8, _) => i64::from_le_bytes(bytes.try_into().ok()?),
        _ => return None,
    })
}

/// Reads a `char[N]` or `__data_loc char[]` string field.
pub fn read_str<'a>(data: &'a [u8], field: &Field) -> Option<&'a [u8]> {
    let raw = if field.ctype.starts_with("__data_loc") {
        let loc = u32::from_le_bytes(data.get(field.offset..field.offset + 4)?.try_into().ok()?);
        let (off, len) = ((loc & 0xffff) as usize, (loc >> 16) as usize);
        data.get(off..off + len)?
    } else {
        data.get(field.offset..field.offset + field.size)?
    };
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    Some(&raw[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    const PWRITEV2: &str = "name: sys_enter_pwritev2\nID: 824\nformat:\n\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\
\tfield:unsigned long fd;\toffset:16;\tsize:8;\tsigned:0;\n\
\tfield:const struct iovec * vec;\toffset:24;\tsize:8;\tsigned:0;\n\
\tfield:char oldcomm[16];\toffset:32;\tsize:16;\tsigned:0;\n\
\tfield:__data_loc char[] filename;\toffset:48;\tsize:4;\tsigned:0;\n";

    #[test]
    fn parses_a_real_format_file() {
        let f = Format::parse(PWRITEV2).unwrap();
        assert_eq!(f.name, "sys_enter_pwritev2");
        assert_eq!(f.id, 824);
        let names: Vec<_> = f.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["__syscall_nr", "fd", "vec", "oldcomm", "filename"]);
        assert_eq!(f.field("vec").unwrap().ctype, "const struct iovec *");
        assert_eq!(f.field("oldcomm").unwrap().ctype, "char[]");
        assert_eq!(f.field("filename").unwrap().ctype, "__data_loc char[]");
        assert!(f.field("__syscall_nr").unwrap().signed);
    }

    #[test]
    fn reads_fields() {
        let f = Format::parse(PWRITEV2).unwrap();
        let mut rec = vec![0u8; 64];
        rec[8..12].copy_from_slice(&(-1i32).to_le_bytes());
        rec[16..24].copy_from_slice(&7u64.to_le_bytes());
        rec[32..36].copy_from_slice(b"cat\0");
        rec[48..52].copy_from_slice(&((3u32 << 16) | 56).to_le_bytes());
        rec[56..59].copy_from_slice(b"a/b");
        assert_eq!(read_int(&rec, f.field("__syscall_nr").unwrap()), Some(-1));
        assert_eq!(read_int(&rec, f.field("fd").unwrap()), Some(7));
        assert_eq!(
            read_str(&rec, f.field("oldcomm").unwrap()),
            Some(&b"cat"[..])
        );
        assert_eq!(
            read_str(&rec, f.field("filename").unwrap()),
            Some(&b"a/b"[..])
        );
        assert_eq!(read_int(&rec[..10], f.field("fd").unwrap()), None);
    }
}
