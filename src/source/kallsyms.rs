//! Kernel addresses to names, from the text of `/proc/kallsyms`, printed the
//! way the kernel's own `%ps` / `%pS` print them. Pure: text in, names out.
//!
//! The kernel resolves an address to the symbol with the greatest address
//! not above it; among aliases (several names at one address) it takes the
//! first in its table, which is also the first in `/proc/kallsyms`. A
//! module symbol prints with its module: `%ps` gives `name [mod]`, while the
//! function tracer's plain lookup (`kallsyms_lookup`) gives the name alone.

use std::io::Write;
use std::sync::Arc;

/// One symbol: where it starts and where its name lives in the arena.
#[derive(Debug, Clone, Copy)]
struct Entry {
    addr: u64,
    /// `name` is `arena[name..name_end]`; with the module, `..with_module`
    /// (`name [mod]`), so neither form is built per lookup.
    name: u32,
    name_end: u32,
    with_module: u32,
}

/// A resolved address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sym<'a> {
    /// The bare name (`kallsyms_lookup`).
    pub name: &'a str,
    /// The name as `%ps` prints it: `name`, or `name [mod]` for a module.
    pub display: &'a str,
    /// The address's distance from the symbol's start.
    pub offset: u64,
    /// Up to the next symbol at a higher address (0 when it is the last).
    pub size: u64,
}

/// The symbols, shared by the copies each printing thread has; each copy
/// has a cache of its own.
#[derive(Debug, Default, Clone)]
pub struct Symbols {
    table: Arc<Table>,
    /// Recent lookups, by address: a trace names the same few hundred
    /// functions over and over, among some hundred thousand symbols.
    cache: Cache,
}

#[derive(Debug, Default)]
struct Table {
    arena: String,
    /// Sorted by address; aliases keep their file order.
    entries: Vec<Entry>,
}

/// A direct-mapped cache of (address, first alias, the symbol after).
#[derive(Debug)]
struct Cache(Box<[std::cell::Cell<(u64, u32, u32)>]>);

const CACHE_SLOTS: usize = 4096;

/// Names up to this long are copied as one fixed-size move.
const SHORT: usize = 32;

/// A copy starts with an empty cache (each thread printing has its own).
impl Clone for Cache {
    fn clone(&self) -> Cache {
        Cache::default()
    }
}

impl Default for Cache {
    fn default() -> Cache {
        // Address 0 is never looked up through the cache (see `lookup`).
        Cache(
            (0..CACHE_SLOTS)
                .map(|_| std::cell::Cell::new((0, 0, 0)))
                .collect(),
        )
    }
}

impl Symbols {
    /// Parses `ADDR TYPE NAME [\t[MODULE]]` lines; lines that do not parse
    /// are skipped.
    pub fn parse(text: &str) -> Symbols {
        let mut syms = Table::default();
        for line in text.lines() {
            let mut parts = line.split_whitespace();
            let (Some(addr), Some(_kind), Some(name)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let Ok(addr) = u64::from_str_radix(addr, 16) else {
                continue;
            };
            let module = parts
                .next()
                .filter(|m| m.starts_with('[') && m.ends_with(']'));
            syms.push(addr, name, module);
        }
        // Stable: aliases stay in file order, so the first one wins.
        syms.entries.sort_by_key(|e| e.addr);
        // Room to copy any name as one fixed-size move (`write_name`).
        syms.arena.push_str(&" ".repeat(SHORT));
        Symbols {
            table: Arc::new(syms),
            cache: Cache::default(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.table.entries.is_empty()
    }

    /// The symbol that `addr` falls in, if any symbol starts at or below it.
    pub fn lookup(&self, addr: u64) -> Option<Sym<'_>> {
        let (first, after) = self.find(addr)?;
        let e = self.table.entries[first];
        let size = self.table.entries[after..]
            .first()
            .map_or(0, |next| next.addr - e.addr);
        Some(Sym {
            name: &self.table.arena[e.name as usize..e.name_end as usize],
            display: &self.table.arena[e.name as usize..e.with_module as usize],
            offset: addr - e.addr,
            size,
        })
    }

    /// Appends the bare name of the symbol `addr` falls in, and gives the
    /// rest of what `%ps` prints (` [mod]`, or nothing); None if no symbol
    /// covers `addr`.
    #[inline]
    pub fn write_name(&self, out: &mut Vec<u8>, addr: u64) -> Option<&str> {
        let (first, _) = self.find(addr)?;
        let e = self.table.entries[first];
        let (start, end) = (e.name as usize, e.name_end as usize);
        match self.table.arena.as_bytes().get(start..start + SHORT) {
            Some(block) if end - start <= SHORT => {
                let at = out.len();
                out.extend_from_slice(block);
                out.truncate(at + end - start);
            }
            _ => out.extend_from_slice(&self.table.arena.as_bytes()[start..end]),
        }
        self.table.arena.get(end..e.with_module as usize)
    }

    /// [`Self::search`] through the cache.
    #[inline]
    fn find(&self, addr: u64) -> Option<(usize, usize)> {
        let slot = &self.cache.0[(addr as usize >> 4) % CACHE_SLOTS];
        match slot.get() {
            (a, first, after) if a == addr && addr != 0 => Some((first as usize, after as usize)),
            _ => {
                let (first, after) = self.search(addr)?;
                slot.set((addr, first as u32, after as u32));
                Some((first, after))
            }
        }
    }

    /// The first alias of the symbol `addr` falls in, and the index after
    /// its last alias.
    fn search(&self, addr: u64) -> Option<(usize, usize)> {
        let after = self.table.entries.partition_point(|e| e.addr <= addr);
        let last = after.checked_sub(1)?;
        let at = self.table.entries[last].addr;
        // The first alias at that address, as the kernel picks it.
        let first = self.table.entries[..last].partition_point(|e| e.addr < at);
        Some((first, after))
    }

    /// The start address of the first symbol called `name`.
    pub fn address_of(&self, name: &str) -> Option<u64> {
        self.table
            .entries
            .iter()
            .find(|e| &self.table.arena[e.name as usize..e.name_end as usize] == name)
            .map(|e| e.addr)
    }

    /// Appends `addr` as `%ps` prints it: the name (with ` [mod]` for a
    /// module), or the raw pointer when no symbol covers it.
    pub fn write_ps(&self, out: &mut Vec<u8>, addr: u64) {
        match self.lookup(addr) {
            Some(sym) => out.extend_from_slice(sym.display.as_bytes()),
            None => write_hex_ptr(out, addr),
        }
    }

    /// Appends `addr` as `%pS` prints it: `name+0xoff/0xsize [mod]`.
    pub fn write_ps_offset(&self, out: &mut Vec<u8>, addr: u64) {
        let Some(sym) = self.lookup(addr) else {
            return write_hex_ptr(out, addr);
        };
        out.extend_from_slice(sym.name.as_bytes());
        // Writing to a Vec cannot fail.
        let _ = write!(out, "+{:#x}/{:#x}", sym.offset, sym.size);
        out.extend_from_slice(&sym.display.as_bytes()[sym.name.len()..]);
    }
}

impl Table {
    fn push(&mut self, addr: u64, name: &str, module: Option<&str>) {
        let start = self.arena.len() as u32;
        self.arena.push_str(name);
        let name_end = self.arena.len() as u32;
        if let Some(module) = module {
            self.arena.push(' ');
            self.arena.push_str(module);
        }
        self.entries.push(Entry {
            addr,
            name: start,
            name_end,
            with_module: self.arena.len() as u32,
        });
    }
}

/// `%p` of an unknown kernel address: `0x` and the hex digits.
fn write_hex_ptr(out: &mut Vec<u8>, addr: u64) {
    let _ = write!(out, "{addr:#x}");
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
ffffffff81000000 T _stext
ffffffff81000000 T startup_64
ffffffff81001000 t __pfx_do_one
ffffffff81001010 T do_one
ffffffff81001080 T do_two
ffffffffc0100000 t p9_client_rpc\t[9pnet]
ffffffffc0100400 t p9_client_flush\t[9pnet]
";

    #[test]
    fn resolves_inside_functions_and_aliases_first() {
        let s = Symbols::parse(TEXT);
        assert_eq!(s.lookup(0xffffffff81000004).unwrap().name, "_stext");
        let one = s.lookup(0xffffffff81001014).unwrap();
        assert_eq!((one.name, one.offset, one.size), ("do_one", 4, 0x70));
        assert!(s.lookup(0x1000).is_none());
        assert_eq!(s.address_of("do_two"), Some(0xffffffff81001080));
    }

    #[test]
    fn module_symbols_print_with_their_module() {
        let s = Symbols::parse(TEXT);
        let mut out = Vec::new();
        s.write_ps(&mut out, 0xffffffffc0100010);
        assert_eq!(out, b"p9_client_rpc [9pnet]");
        out.clear();
        s.write_ps_offset(&mut out, 0xffffffffc0100010);
        assert_eq!(out, b"p9_client_rpc+0x10/0x400 [9pnet]");
        assert_eq!(s.lookup(0xffffffffc0100010).unwrap().name, "p9_client_rpc");
    }

    #[test]
    fn names_short_and_long() {
        let long = "x".repeat(SHORT + 5);
        let s = Symbols::parse(&format!("{TEXT}ffffffffc0200000 t {long}\n"));
        let mut out = b">".to_vec();
        assert_eq!(s.write_name(&mut out, 0xffffffff81001014), Some(""));
        assert_eq!(s.write_name(&mut out, 0xffffffffc0100010), Some(" [9pnet]"));
        assert_eq!(s.write_name(&mut out, 0xffffffffc0200000), Some(""));
        assert_eq!(out, format!(">do_onep9_client_rpc{long}").as_bytes());
        assert_eq!(s.write_name(&mut out, 0x10), None);
    }

    #[test]
    fn unknown_addresses_print_raw() {
        let s = Symbols::parse("ffffffff81000000 T _stext\n");
        let mut out = Vec::new();
        s.write_ps(&mut out, 0x10);
        assert_eq!(out, b"0x10");
    }
}
