//! The kernel's BTF (`/sys/kernel/btf/vmlinux`), read for one purpose: to
//! print a function's arguments as funcgraph-args prints them
//! (kernel/trace/trace_output.c `print_function_args`, 6.15+). Pure: raw
//! BTF bytes in; for a function name, the parameters as that printer sees
//! them (name, and what it does with the kind the type resolves to); and
//! the printer itself, raw argument words in, text out.
//!
//! Invariants:
//! - [`Btf::parse`] checks the whole type section once (every type's length
//!   is known from its kind, or the BTF is refused); lookups after that do
//!   not fail, they answer what the kernel would find, or nothing.
//! - A name resolves as `btf_find_by_name_kind(.., BTF_KIND_FUNC)` resolves
//!   it: the FUNC of lowest type id with that name, its FUNC_PROTO, and each
//!   parameter's type with typedef/const/volatile/restrict/type_tag skipped
//!   (`btf_type_skip_modifiers`). An id past the last type, or void, is
//!   the printer's unknown kind (`?`).
//! - A parameter's name is the string at its offset: offset 0 is the empty
//!   string (so `=` prints alone, as for the `...` of a variadic function);
//!   an offset past the string section is no name at all (nothing printed).
//! - A name is looked up in vmlinux's BTF first, then in each module's
//!   (split BTF: ids and string offsets go on from vmlinux's), as
//!   bpf_find_btf_id looks it up.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

const MAGIC: u16 = 0xeb9f;
const HEADER_MIN: usize = 24;
const TYPE_HEAD: usize = 12;

// BTF_KIND_*, include/uapi/linux/btf.h.
const KIND_UNKN: u32 = 0;
const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FWD: u32 = 7;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_FLOAT: u32 = 16;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

/// kernel/bpf/btf.c `btf_kind_str`: what `btf_type_str` names each kind.
const KIND_STR: [&str; 20] = [
    "UNKNOWN",
    "INT",
    "PTR",
    "ARRAY",
    "STRUCT",
    "UNION",
    "ENUM",
    "FWD",
    "TYPEDEF",
    "VOLATILE",
    "CONST",
    "RESTRICT",
    "FUNC",
    "FUNC_PROTO",
    "VAR",
    "DATASEC",
    "FLOAT",
    "DECL_TAG",
    "TYPE_TAG",
    "ENUM64",
];

/// BTF_INT_SIGNED, in the INT's encoding bits.
const INT_SIGNED: u32 = 1;

/// The kernel's FTRACE_REGS_MAX_ARGS (x86_64): the words a record carries.
pub const MAX_ARGS: usize = 6;

/// A parsed BTF: the bytes, where each type starts, and the FUNCs by name.
/// A module's BTF is split: its type ids and string offsets go on from
/// those of its base (vmlinux's), and it refers to the base's freely.
#[derive(Debug)]
pub struct Btf {
    types: Vec<u8>,
    strings: Vec<u8>,
    /// Byte offset in `types` of type id `first_id + i`.
    starts: Vec<u32>,
    /// (name offset, type id) of every FUNC, sorted by name then id.
    funcs: Vec<(u32, u32)>,
    base: Option<Arc<Btf>>,
    /// The first type id and string offset of this BTF's own (1 and 0 for
    /// vmlinux: id 0 is void).
    first_id: u32,
    first_str: u32,
}

/// One type: its head's words (the name aside) and where what follows it
/// starts, in `types`.
struct Ty<'a> {
    types: &'a [u8],
    info: u32,
    size: u32,
    at: usize,
}

impl Ty<'_> {
    fn kind(&self) -> u32 {
        (self.info >> 24) & 0x1f
    }

    fn vlen(&self) -> usize {
        (self.info & 0xffff) as usize
    }

    /// Word `i` of what follows the head.
    fn word(&self, i: usize) -> u32 {
        u32_at(self.types, self.at + 4 * i).unwrap_or(0)
    }
}

/// vmlinux's BTF and the modules', searched as bpf_find_btf_id searches
/// them: vmlinux first, then each module.
#[derive(Debug)]
pub struct KernelBtf {
    pub vmlinux: Arc<Btf>,
    pub modules: Vec<Btf>,
}

impl KernelBtf {
    pub fn vmlinux_only(vmlinux: Btf) -> KernelBtf {
        KernelBtf {
            vmlinux: Arc::new(vmlinux),
            modules: Vec::new(),
        }
    }

    /// The parameters of the function called `name` in the first BTF that
    /// has it.
    pub fn params(&self, name: &str) -> Option<Vec<Param>> {
        std::iter::once(&*self.vmlinux)
            .chain(&self.modules)
            .find_map(|b| b.params(name))
    }
}

/// What the printer does with a parameter, by the kind its type resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Void, or an id with no type: `?` then the word in hex.
    Unknown,
    /// The word in hex.
    Ptr,
    /// `%ld` when signed, else hex.
    Int { signed: bool },
    /// `%ld`, then ` [NAME]` of the first enumerator equal to the word.
    Enum(Box<[(i32, Box<str>)]>),
    /// Anything else: `(KIND)[0xW:0xW…]`, one word per 8 bytes of `size`.
    Complex { kind: &'static str, size: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// None when the name's offset is past the strings (nothing printed).
    pub name: Option<Box<str>>,
    pub kind: Kind,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl Btf {
    /// Parses raw BTF (little-endian, as x86_64 kernels write it). The error
    /// says what is wrong with which part.
    pub fn parse(bytes: &[u8]) -> Result<Btf, String> {
        Btf::parse_split(bytes, None)
    }

    /// Parses a module's BTF, split from `base` (vmlinux's); with no base,
    /// a whole BTF.
    pub fn parse_split(bytes: &[u8], base: Option<Arc<Btf>>) -> Result<Btf, String> {
        let magic = bytes.get(..2).map(|m| u16::from_le_bytes([m[0], m[1]]));
        if magic != Some(MAGIC) {
            return Err(format!(
                "not little-endian BTF (magic {magic:04x?}, expected 0xeb9f)"
            ));
        }
        let field = |at| u32_at(bytes, at).ok_or("the BTF header is cut short");
        let hdr_len = field(4)? as usize;
        if hdr_len < HEADER_MIN {
            return Err(format!("BTF header length {hdr_len} is below {HEADER_MIN}"));
        }
        let (type_off, type_len) = (field(8)? as usize, field(12)? as usize);
        let (str_off, str_len) = (field(16)? as usize, field(20)? as usize);
        let section = |off: usize, len: usize, what: &str| {
            bytes.get(hdr_len + off..hdr_len + off + len).ok_or(format!(
                "the BTF {what} section ({len} bytes at {off}) passes the end ({} bytes)",
                bytes.len()
            ))
        };
        let types = section(type_off, type_len, "type")?.to_vec();
        let strings = section(str_off, str_len, "string")?.to_vec();
        let (first_id, first_str) = match &base {
            Some(b) => (b.end_id(), b.end_str()),
            None => (1, 0),
        };
        let mut starts = Vec::new();
        let mut funcs = Vec::new();
        let mut at = 0;
        while at < types.len() {
            let id = first_id + starts.len() as u32;
            let info = u32_at(&types, at + 4).ok_or(format!("BTF type {id} is cut short"))?;
            let (kind, vlen) = ((info >> 24) & 0x1f, (info & 0xffff) as usize);
            let extra = match kind {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
                KIND_ARRAY => 12,
                KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => 12 * vlen,
                KIND_ENUM | KIND_FUNC_PROTO => 8 * vlen,
                KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
                | KIND_FUNC | KIND_FLOAT | KIND_TYPE_TAG => 0,
                _ => return Err(format!("BTF type {id} has kind {kind}, unknown to ftr")),
            };
            if kind == KIND_FUNC {
                funcs.push((u32_at(&types, at).unwrap_or(0), id));
            }
            starts.push(at as u32);
            at += TYPE_HEAD + extra;
        }
        if at != types.len() {
            return Err("the last BTF type is cut short".to_string());
        }
        let mut btf = Btf {
            types,
            strings,
            starts,
            funcs: Vec::new(),
            base,
            first_id,
            first_str,
        };
        funcs.sort_by(|a, b| btf.str_at(a.0).cmp(&btf.str_at(b.0)).then(a.1.cmp(&b.1)));
        btf.funcs = funcs;
        Ok(btf)
    }

    /// The id after the last type: a module's BTF starts there.
    fn end_id(&self) -> u32 {
        self.first_id + self.starts.len() as u32
    }

    fn end_str(&self) -> u32 {
        self.first_str + self.strings.len() as u32
    }

    /// The string at `off` (up to its NUL), or None past the section.
    fn str_at(&self, off: u32) -> Option<&[u8]> {
        if off < self.first_str {
            return self.base.as_ref()?.str_at(off);
        }
        let rest = self.strings.get((off - self.first_str) as usize..)?;
        Some(&rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())])
    }

    /// Type `id` (None for void and for ids with no type).
    fn ty(&self, id: u32) -> Option<Ty<'_>> {
        if id < self.first_id {
            return self.base.as_ref()?.ty(id);
        }
        let at = *self.starts.get((id - self.first_id) as usize)? as usize;
        let word = |i: usize| u32_at(&self.types, at + 4 * i).unwrap_or(0);
        Some(Ty {
            types: &self.types,
            info: word(1),
            size: word(2),
            at: at + TYPE_HEAD,
        })
    }

    /// The parameters of the function called `name`, as print_function_args
    /// finds them in this BTF; None when it has no such function (the
    /// kernel then prints `()`).
    pub fn params(&self, name: &str) -> Option<Vec<Param>> {
        let first = self
            .funcs
            .partition_point(|f| self.str_at(f.0) < Some(name.as_bytes()));
        let &(off, func) = self.funcs.get(first)?;
        if self.str_at(off) != Some(name.as_bytes()) {
            return None;
        }
        let proto = self.ty(self.ty(func)?.size)?;
        if proto.kind() != KIND_FUNC_PROTO {
            return None;
        }
        let params = (0..proto.vlen())
            .map(|i| Param {
                name: self
                    .str_at(proto.word(2 * i))
                    .map(|s| String::from_utf8_lossy(s).into()),
                kind: self.kind_of(proto.word(2 * i + 1)),
            })
            .collect();
        Some(params)
    }

    /// What the printer does with type `id`, modifiers skipped.
    fn kind_of(&self, mut id: u32) -> Kind {
        // A well-formed BTF has no cycles; the bound keeps a bad one finite.
        for _ in 0..64 {
            let Some(t) = self.ty(id) else {
                return Kind::Unknown;
            };
            return match t.kind() {
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => {
                    id = t.size;
                    continue;
                }
                KIND_UNKN => Kind::Unknown,
                KIND_PTR => Kind::Ptr,
                KIND_INT => Kind::Int {
                    signed: (t.word(0) >> 24) & INT_SIGNED != 0,
                },
                KIND_ENUM => Kind::Enum(
                    (0..t.vlen())
                        .map(|i| {
                            let name = self
                                .str_at(t.word(2 * i))
                                .map_or("(null)".into(), |s| String::from_utf8_lossy(s).into());
                            (t.word(2 * i + 1) as i32, name)
                        })
                        .collect(),
                ),
                kind => Kind::Complex {
                    kind: KIND_STR.get(kind as usize).copied().unwrap_or("UNKNOWN"),
                    size: t.size,
                },
            };
        }
        Kind::Unknown
    }
}

/// The argument word `i` of a record's `args[]` (0 past its end).
fn word(args: &[u8], i: usize) -> u64 {
    args.get(8 * i..8 * i + 8)
        .and_then(|w| w.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// Appends `(name=value, …)` for `params` and the raw words `args` (the
/// record's MAX_ARGS words), exactly as print_function_args writes it.
pub fn write_args(out: &mut Vec<u8>, params: &[Param], args: &[u8]) {
    out.push(b'(');
    let mut a = 0;
    'params: for (p, param) in params.iter().enumerate() {
        if p > 0 {
            out.extend_from_slice(b", ");
        }
        // The arch passes this many argument words; the rest are unknown.
        if a == MAX_ARGS {
            out.extend_from_slice(b"...");
            break;
        }
        let arg = word(args, a);
        if let Some(name) = &param.name {
            out.extend_from_slice(name.as_bytes());
            out.push(b'=');
        }
        // Writing to a Vec cannot fail.
        let _ = match &param.kind {
            Kind::Unknown => write!(out, "?{arg:#x}"),
            Kind::Ptr | Kind::Int { signed: false } => write!(out, "{arg:#x}"),
            Kind::Int { signed: true } => write!(out, "{}", arg as i64),
            Kind::Enum(values) => {
                let _ = write!(out, "{}", arg as i64);
                match values.iter().find(|(v, _)| *v as i64 as u64 == arg) {
                    Some((_, name)) => write!(out, " [{name}]"),
                    None => Ok(()),
                }
            }
            Kind::Complex { kind, size } => {
                let _ = write!(out, "({kind})[{arg:#x}");
                let mut x = 8;
                while x < *size {
                    out.push(b':');
                    a += 1;
                    if a == MAX_ARGS {
                        out.extend_from_slice(b"...]");
                        break 'params;
                    }
                    let _ = write!(out, "{:#x}", word(args, a));
                    x += 8;
                }
                write!(out, "]")
            }
        };
        a += 1;
    }
    out.push(b')');
}

/// The BTF shared by the printers, with each printer's own cache of
/// parameters by function address: a trace names the same few hundred
/// functions over and over, so each is looked up once.
#[derive(Debug)]
pub struct FuncArgs {
    btf: Arc<KernelBtf>,
    /// Address to an index in `protos`; None: BTF has no such function.
    cache: RefCell<HashMap<u64, Option<u32>>>,
    protos: RefCell<Vec<Box<[Param]>>>,
}

/// A copy starts with an empty cache (each thread printing has its own).
impl Clone for FuncArgs {
    fn clone(&self) -> FuncArgs {
        FuncArgs::new(self.btf.clone())
    }
}

impl FuncArgs {
    pub fn new(btf: Arc<KernelBtf>) -> FuncArgs {
        FuncArgs {
            btf,
            cache: RefCell::default(),
            protos: RefCell::default(),
        }
    }

    /// Appends the arguments of the function at `addr`, which the symbol
    /// table calls `name()` (asked only on the first call for `addr`; None
    /// when no symbol covers it), as the kernel prints them.
    pub fn write(
        &self,
        out: &mut Vec<u8>,
        addr: u64,
        name: impl FnOnce() -> Option<String>,
        args: &[u8],
    ) {
        let mut cache = self.cache.borrow_mut();
        let slot = *cache.entry(addr).or_insert_with(|| {
            let params = self.btf.params(&name()?)?;
            let mut protos = self.protos.borrow_mut();
            protos.push(params.into_boxed_slice());
            Some(protos.len() as u32 - 1)
        });
        match slot {
            Some(i) => write_args(out, &self.protos.borrow()[i as usize], args),
            None => out.extend_from_slice(b"()"),
        }
    }
}

/// Builds BTF bytes from types, for tests: each type is its 12-byte head
/// and what follows, strings start with the empty one.
#[cfg(test)]
pub mod build {
    pub struct Builder {
        pub types: Vec<u8>,
        pub strings: Vec<u8>,
        pub next_id: u32,
    }

    impl Default for Builder {
        fn default() -> Builder {
            Builder::new()
        }
    }

    impl Builder {
        pub fn new() -> Builder {
            Builder {
                types: Vec::new(),
                strings: vec![0],
                next_id: 1,
            }
        }

        pub fn str(&mut self, s: &str) -> u32 {
            let at = self.strings.len() as u32;
            self.strings.extend_from_slice(s.as_bytes());
            self.strings.push(0);
            at
        }

        /// Adds a type; gives its id.
        pub fn ty(&mut self, name: u32, kind: u32, vlen: u32, size: u32, extra: &[u32]) -> u32 {
            for w in [name, (kind << 24) | vlen, size].iter().chain(extra) {
                self.types.extend_from_slice(&w.to_le_bytes());
            }
            self.next_id += 1;
            self.next_id - 1
        }

        pub fn bytes(&self) -> Vec<u8> {
            let mut b = Vec::new();
            b.extend_from_slice(&0xeb9fu16.to_le_bytes());
            b.extend_from_slice(&[1, 0]);
            for w in [
                24,
                0,
                self.types.len() as u32,
                self.types.len() as u32,
                self.strings.len() as u32,
            ] {
                b.extend_from_slice(&w.to_le_bytes());
            }
            b.extend_from_slice(&self.types);
            b.extend_from_slice(&self.strings);
            b
        }
    }
}

#[cfg(test)]
mod tests {
    use super::build::Builder;
    use super::*;

    fn words(w: &[u64]) -> Vec<u8> {
        let mut b: Vec<u8> = w.iter().flat_map(|x| x.to_le_bytes()).collect();
        b.resize(8 * MAX_ARGS, 0);
        b
    }

    fn text(btf: &Btf, func: &str, args: &[u64]) -> String {
        let mut out = Vec::new();
        match btf.params(func) {
            Some(p) => write_args(&mut out, &p, &words(args)),
            None => out.extend_from_slice(b"()"),
        }
        String::from_utf8(out).expect("utf-8")
    }

    /// One function per kind branch of print_function_args.
    fn sample() -> Btf {
        let mut b = Builder::new();
        let int = b.str("int");
        let uint = b.str("unsigned int");
        let chr = b.str("char");
        let bool_ = b.str("_Bool");
        let long = b.str("long");
        let t_int = b.ty(int, KIND_INT, 0, 4, &[(INT_SIGNED << 24) | 32]);
        let t_uint = b.ty(uint, KIND_INT, 0, 4, &[32]);
        // A signed char (SIGNED|CHAR) and a bool (BOOL: unsigned, in hex).
        let t_char = b.ty(chr, KIND_INT, 0, 1, &[(3 << 24) | 8]);
        let t_bool = b.ty(bool_, KIND_INT, 0, 1, &[(4 << 24) | 8]);
        let t_long = b.ty(long, KIND_INT, 0, 8, &[(INT_SIGNED << 24) | 64]);
        let t_ptr = b.ty(0, KIND_PTR, 0, t_char, &[]);
        let t_const = b.ty(0, KIND_CONST, 0, t_uint, &[]);
        let u32n = b.str("u32");
        let t_typedef = b.ty(u32n, KIND_TYPEDEF, 0, t_const, &[]);
        let (e, ea, eb) = (b.str("color"), b.str("RED"), b.str("MINUS"));
        let t_enum = b.ty(e, KIND_ENUM, 2, 4, &[ea, 0, eb, (-1i32) as u32]);
        let s = b.str("pair");
        let t_struct16 = b.ty(s, KIND_STRUCT, 0, 16, &[]);
        let s24 = b.str("triple");
        let t_struct24 = b.ty(s24, KIND_STRUCT, 0, 24, &[]);
        let e64 = b.str("big");
        let t_enum64 = b.ty(e64, KIND_ENUM64, 0, 8, &[]);
        let t_fwd_union = b.ty(s, KIND_UNION, 0, 8, &[]);
        let t_void_ptr = b.ty(0, KIND_PTR, 0, 0, &[]);
        let (a, bn, c, d) = (b.str("a"), b.str("b"), b.str("c"), b.str("d"));
        let (ee, f, g, h) = (b.str("e"), b.str("f"), b.str("g"), b.str("h"));
        let func = |b: &mut Builder, name: &str, params: &[(u32, u32)]| {
            let extra: Vec<u32> = params.iter().flat_map(|&(n, t)| [n, t]).collect();
            let proto = b.ty(0, KIND_FUNC_PROTO, params.len() as u32, t_int, &extra);
            let n = b.str(name);
            b.ty(n, KIND_FUNC, 0, proto, &[]);
        };
        func(
            &mut b,
            "ints",
            &[
                (a, t_int),
                (bn, t_uint),
                (c, t_char),
                (d, t_bool),
                (ee, t_long),
                (f, t_typedef),
            ],
        );
        func(
            &mut b,
            "ptrs",
            &[(a, t_ptr), (bn, t_void_ptr), (c, 0), (d, 9999)],
        );
        func(
            &mut b,
            "enums",
            &[(a, t_enum), (bn, t_enum), (c, t_enum), (d, t_enum64)],
        );
        func(
            &mut b,
            "structs",
            &[(a, t_struct16), (bn, t_int), (c, t_fwd_union)],
        );
        func(
            &mut b,
            "many",
            &[
                (a, t_int),
                (bn, t_int),
                (c, t_int),
                (d, t_int),
                (ee, t_int),
                (f, t_int),
                (g, t_int),
                (h, t_int),
            ],
        );
        func(
            &mut b,
            "late_struct",
            &[
                (a, t_int),
                (bn, t_int),
                (c, t_int),
                (d, t_int),
                (ee, t_struct24),
                (f, t_int),
            ],
        );
        func(&mut b, "varargs", &[(a, t_int), (0, 0)]);
        func(&mut b, "noname", &[(1 << 30, t_int)]);
        func(&mut b, "none", &[]);
        // A second FUNC of the same name: the first (lowest id) wins.
        let n = b.str("ints");
        let proto = b.ty(0, KIND_FUNC_PROTO, 0, t_int, &[]);
        b.ty(n, KIND_FUNC, 0, proto, &[]);
        Btf::parse(&b.bytes()).expect("parses")
    }

    #[test]
    fn every_kind_prints_as_the_kernel_prints_it() {
        let btf = sample();
        let m1 = u64::MAX;
        assert_eq!(
            text(&btf, "ints", &[m1, m1, 0x41, 1, 0xffff_ffff, 7]),
            "(a=-1, b=0xffffffffffffffff, c=65, d=0x1, e=4294967295, f=0x7)"
        );
        assert_eq!(
            text(&btf, "ptrs", &[0xffff_8880_0000_1000, 0, 5, 6]),
            "(a=0xffff888000001000, b=0x0, c=?0x5, d=?0x6)"
        );
        assert_eq!(
            text(&btf, "enums", &[0, m1, 3, 0x10]),
            "(a=0 [RED], b=-1 [MINUS], c=3, d=(ENUM64)[0x10])"
        );
        assert_eq!(
            text(&btf, "structs", &[1, 2, 3, 4]),
            "(a=(STRUCT)[0x1:0x2], b=3, c=(UNION)[0x4])"
        );
        assert_eq!(
            text(&btf, "many", &[1, 2, 3, 4, 5, 6]),
            "(a=1, b=2, c=3, d=4, e=5, f=6, ...)"
        );
        assert_eq!(
            text(&btf, "late_struct", &[1, 2, 3, 4, 5, 6]),
            "(a=1, b=2, c=3, d=4, e=(STRUCT)[0x5:0x6:...])"
        );
        assert_eq!(text(&btf, "varargs", &[1, 2]), "(a=1, =?0x2)");
        assert_eq!(text(&btf, "noname", &[5]), "(5)");
        assert_eq!(text(&btf, "none", &[]), "()");
        assert_eq!(text(&btf, "missing", &[]), "()");
    }

    #[test]
    fn the_cache_answers_per_address_and_copies_start_empty() {
        let args = FuncArgs::new(Arc::new(KernelBtf::vmlinux_only(sample())));
        let mut out = Vec::new();
        args.write(&mut out, 0x1000, || Some("none".into()), &words(&[]));
        // The name is asked once per address.
        args.write(&mut out, 0x1000, || panic!("asked twice"), &words(&[]));
        args.write(&mut out, 0x2000, || None, &words(&[]));
        args.write(
            &mut out,
            0x3000,
            || Some("ptrs".into()),
            &words(&[1, 2, 3, 4]),
        );
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "()()()(a=0x1, b=0x2, c=?0x3, d=?0x4)"
        );
        let copy = args.clone();
        assert!(copy.cache.borrow().is_empty());
    }

    /// A module's split BTF: its ids and strings go on from vmlinux's, its
    /// parameters may use vmlinux's types, and vmlinux is searched first.
    #[test]
    fn module_btf_is_split_from_vmlinux() {
        let mut base = Builder::new();
        let int = base.str("int");
        let t_int = base.ty(int, KIND_INT, 0, 4, &[(INT_SIGNED << 24) | 32]);
        let x = base.str("x");
        let proto = base.ty(0, KIND_FUNC_PROTO, 1, t_int, &[x, t_int]);
        let both = base.str("both");
        base.ty(both, KIND_FUNC, 0, proto, &[]);
        let vmlinux = Arc::new(Btf::parse(&base.bytes()).expect("vmlinux"));

        // Ids from 4 (after void and 3 types), strings after vmlinux's.
        let mut m = Builder::new();
        m.strings.clear();
        let first_str = base.strings.len() as u32;
        let str_in_mod = |m: &mut Builder, s: &str| first_str + m.str(s);
        let (y, z) = (str_in_mod(&mut m, "y"), str_in_mod(&mut m, "z"));
        let pair = str_in_mod(&mut m, "pair");
        let t_pair = 4 + m.ty(pair, KIND_STRUCT, 0, 16, &[]) - 1;
        let proto = 4 + m.ty(0, KIND_FUNC_PROTO, 3, t_int, &[x, t_int, y, t_pair, z, 99]) - 1;
        let f = str_in_mod(&mut m, "modfunc");
        m.ty(f, KIND_FUNC, 0, proto, &[]);
        let p0 = 4 + m.ty(0, KIND_FUNC_PROTO, 0, t_int, &[]) - 1;
        m.ty(both, KIND_FUNC, 0, p0, &[]);
        let module = Btf::parse_split(&m.bytes(), Some(vmlinux.clone())).expect("module");
        let kernel = KernelBtf {
            vmlinux,
            modules: vec![module],
        };
        let text = |name: &str, args: &[u64]| {
            let mut out = Vec::new();
            match kernel.params(name) {
                Some(p) => write_args(&mut out, &p, &words(args)),
                None => out.extend_from_slice(b"()"),
            }
            String::from_utf8(out).expect("utf-8")
        };
        assert_eq!(
            text("modfunc", &[u64::MAX, 1, 2, 3]),
            "(x=-1, y=(STRUCT)[0x1:0x2], z=?0x3)"
        );
        assert_eq!(text("both", &[5]), "(x=5)");
        assert_eq!(text("nowhere", &[5]), "()");
    }

    #[test]
    fn bad_btf_is_refused_with_the_reason() {
        assert!(Btf::parse(b"").unwrap_err().contains("magic"));
        let mut b = Builder::new();
        b.ty(0, 25, 0, 0, &[]);
        assert!(Btf::parse(&b.bytes()).unwrap_err().contains("kind 25"));
        let mut bytes = sample_bytes();
        let len = bytes.len();
        bytes.truncate(len - 3);
        assert!(Btf::parse(&bytes).unwrap_err().contains("passes the end"));
    }

    fn sample_bytes() -> Vec<u8> {
        let mut b = Builder::new();
        let n = b.str("x");
        b.ty(n, KIND_INT, 0, 4, &[32]);
        b.bytes()
    }
}
