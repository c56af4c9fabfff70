//! Decoding the kernel's binary ring-buffer pages, as read from
//! `per_cpu/cpuN/trace_pipe_raw`. Pure: bytes in, events out.
//!
//! Layout (`events/header_page`, `events/header_event`, and the kernel's
//! ring_buffer.c): a page is `u64 timestamp; local_t commit; data[]`. The low
//! bits of `commit` are the length of the data; bit 31 says events were lost
//! before this page, bit 30 that their count is stored right after the data.
//! Each event starts with a 32-bit header `type_len:5, time_delta:27`.

const PAGE_HEADER: usize = 16;
const COMMIT_MASK: u64 = (1 << 27) - 1;
const MISSED_EVENTS: u64 = 1 << 31;
const MISSED_STORED: u64 = 1 << 30;

const TYPE_PADDING: u32 = 29;
const TYPE_TIME_EXTEND: u32 = 30;
const TYPE_TIME_STAMP: u32 = 31;
const TS_SHIFT: u32 = 27;
const TS_MSB_MASK: u64 = !((1u64 << 59) - 1);

/// One event's place in the page buffer it was decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub ts: u64,
    pub cpu: u32,
    /// Byte range of the event's record (common fields first) in the buffer.
    pub start: u32,
    pub len: u32,
}

/// What a page said besides its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageInfo {
    /// Events were lost before this page: `Some(n)` with the count when the
    /// kernel stored it, `Some(0)` when it did not.
    pub lost: Option<u64>,
    pub first_ts: u64,
}

/// Decodes the page at `buf[base..base + page_len]`, appending its events.
/// Malformed input ends the page early; it never panics.
pub fn decode_page(
    buf: &[u8],
    base: usize,
    page_len: usize,
    cpu: u32,
    out: &mut Vec<Event>,
) -> PageInfo {
    let Some(page) = buf.get(base..base + page_len) else {
        return PageInfo::default();
    };
    if page.len() < PAGE_HEADER {
        return PageInfo::default();
    }
    let mut ts = u64_at(page, 0);
    let commit = u64_at(page, 8);
    let size = ((commit & COMMIT_MASK) as usize).min(page.len() - PAGE_HEADER);
    let mut info = PageInfo {
        lost: None,
        first_ts: ts,
    };
    if commit & MISSED_EVENTS != 0 {
        let stored = (commit & MISSED_STORED != 0)
            .then(|| page.get(PAGE_HEADER + size..PAGE_HEADER + size + 8))
            .flatten()
            .map(|b| u64_at(b, 0));
        info.lost = Some(stored.unwrap_or(0));
    }
    let data = &page[PAGE_HEADER..PAGE_HEADER + size];
    let mut pos = 0usize;
    while pos + 4 <= data.len() {
        let header = u32_at(data, pos);
        let type_len = header & 0x1f;
        let delta = (header >> 5) as u64;
        let array0 = || (pos + 8 <= data.len()).then(|| u32_at(data, pos + 4));
        match type_len {
            TYPE_PADDING => {
                if delta == 0 {
                    break; // the rest of the page is empty
                }
                let Some(len) = array0() else { break };
                ts = ts.wrapping_add(delta);
                pos += 4 + len as usize;
            }
            TYPE_TIME_EXTEND => {
                let Some(hi) = array0() else { break };
                ts = ts.wrapping_add(((hi as u64) << TS_SHIFT) + delta);
                pos += 8;
            }
            TYPE_TIME_STAMP => {
                let Some(hi) = array0() else { break };
                let abs = ((hi as u64) << TS_SHIFT) | delta;
                // The kernel stores 59 bits; the top bits come from the page.
                let mut full = abs | (ts & TS_MSB_MASK);
                if full < ts {
                    full = full.wrapping_add(1u64 << 59);
                }
                ts = full;
                pos += 8;
            }
            0 => {
                let Some(len) = array0() else { break };
                let len = len as usize;
                if len < 4 || pos + 4 + len > data.len() {
                    break;
                }
                ts = ts.wrapping_add(delta);
                let start = base + PAGE_HEADER + pos + 8;
                out.push(Event {
                    ts,
                    cpu,
                    start: start as u32,
                    len: (len - 4) as u32,
                });
                pos += 4 + ((len + 3) & !3);
            }
            n => {
                let len = n as usize * 4;
                if pos + 4 + len > data.len() {
                    break;
                }
                ts = ts.wrapping_add(delta);
                let start = base + PAGE_HEADER + pos + 4;
                out.push(Event {
                    ts,
                    cpu,
                    start: start as u32,
                    len: len as u32,
                });
                pos += 4 + len;
            }
        }
    }
    info
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(type_len: u32, delta: u32) -> [u8; 4] {
        (type_len | (delta << 5)).to_le_bytes()
    }

    /// A page with: a small event (delta 10), a time-extend, a large event
    /// (type_len 0), padding, and a stored lost-event count.
    fn sample_page() -> Vec<u8> {
        let mut data = Vec::new();
        data.extend(header(2, 10));
        data.extend([1, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd]);
        data.extend(header(TYPE_TIME_EXTEND, 5));
        data.extend(1u32.to_le_bytes()); // + (1 << 27) + 5
        data.extend(header(0, 7));
        data.extend(14u32.to_le_bytes()); // 10 bytes of record + the length word
        data.extend([2, 0, 0, 0, 1, 2, 3, 4, 5, 6, 0, 0]); // padded to 12
        data.extend(header(TYPE_PADDING, 3));
        data.extend(4u32.to_le_bytes());
        let mut page = Vec::new();
        page.extend(1000u64.to_le_bytes());
        page.extend((data.len() as u64 | MISSED_EVENTS | MISSED_STORED).to_le_bytes());
        page.extend(&data);
        page.extend(42u64.to_le_bytes());
        page.resize(4096, 0);
        page
    }

    #[test]
    fn decodes_events_timestamps_and_lost_count() {
        let page = sample_page();
        let mut events = Vec::new();
        let info = decode_page(&page, 0, page.len(), 3, &mut events);
        assert_eq!(info.lost, Some(42));
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0],
            Event {
                ts: 1010,
                cpu: 3,
                start: 20,
                len: 8
            }
        );
        assert_eq!(events[1].ts, 1010 + (1 << 27) + 5 + 7);
        assert_eq!(events[1].len, 10);
        let s = events[1].start as usize;
        assert_eq!(&page[s..s + 10], &[2, 0, 0, 0, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn absolute_timestamps_keep_the_top_bits() {
        let mut data = Vec::new();
        data.extend(header(TYPE_TIME_STAMP, 9));
        data.extend(2u32.to_le_bytes());
        data.extend(header(1, 0));
        data.extend([0u8; 4]);
        let mut page = Vec::new();
        page.extend(((1u64 << 60) + 5).to_le_bytes());
        page.extend((data.len() as u64).to_le_bytes());
        page.extend(&data);
        let mut events = Vec::new();
        decode_page(&page, 0, page.len(), 0, &mut events);
        assert_eq!(events[0].ts, (1u64 << 60) | (2 << 27) | 9);
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut events = Vec::new();
        for round in 0..20_000 {
            let mut page = sample_page();
            let n = round % 64 + 1;
            for _ in 0..n {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = (seed % 200) as usize;
                page[at] = (seed >> 32) as u8;
            }
            let len = (seed as usize >> 8) % page.len();
            events.clear();
            decode_page(&page, 0, len, 0, &mut events);
            for e in &events {
                assert!((e.start + e.len) as usize <= page.len());
            }
        }
    }
}
