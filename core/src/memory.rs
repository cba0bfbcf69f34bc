//! Keeping an idle daemon small: brine-minion after start-up and whenever
//! its last job ends, brine-master when no request came in for a while,
//! give back what the work left resident.
//!
//! - `malloc_trim(0)` returns freed heap to the kernel (glibc).
//! - The read-only file pages (code, and read-only data with no page ever
//!   copied-on-write: the binary and its shared libraries) that start-up
//!   and jobs faulted in are unmapped with `MADV_DONTNEED`. They are never
//!   written, so this only drops page table entries: the pages stay in the
//!   page cache and the next access faults them back in (a minor fault).
//!   Writable mappings, and read-only ones holding a copied page (RELRO
//!   after relocation), are never touched.
//! - Those mappings are marked `MADV_RANDOM`, so a fault maps one page
//!   instead of the kernel's 64 KiB "fault-around" window.

/// The read-only private file mappings safe to drop, from
/// `/proc/self/smaps` text: `r-xp` or `r--p`, backed by a file, without
/// any anonymous (copied-on-write) page.
pub fn droppable_mappings(smaps: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, usize)> = None;
    let mut flush = |cur: &mut Option<(usize, usize)>, anon_ok: bool| {
        if let (Some(m), true) = (cur.take(), anon_ok) {
            out.push(m);
        }
    };
    let mut anon_ok = false;
    for line in smaps.lines() {
        let mut f = line.split_whitespace();
        let Some(first) = f.next() else {
            continue;
        };
        if let Some((a, b)) = first.split_once('-') {
            if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                flush(&mut cur, anon_ok);
                let perms = f.next().unwrap_or("");
                let path = f.nth(3).unwrap_or("");
                anon_ok = false;
                if (perms == "r-xp" || perms == "r--p") && path.starts_with('/') && b > a {
                    cur = Some((a, b - a));
                }
                continue;
            }
        }
        if first == "Anonymous:" {
            anon_ok = f.next() == Some("0");
        }
    }
    flush(&mut cur, anon_ok);
    out
}

/// Trim the heap and drop the resident read-only file pages (see the
/// module doc).
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator.
    unsafe {
        libc::malloc_trim(0);
    }
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    for (addr, len) in droppable_mappings(&smaps) {
        // SAFETY: the range is a private, read-only file mapping of this
        // process with no copied-on-write page: MADV_DONTNEED only discards
        // page table entries, and the next access reads the same bytes back
        // from the file. MADV_RANDOM only changes fault-around.
        unsafe {
            libc::madvise(addr as *mut libc::c_void, len, libc::MADV_RANDOM);
            libc::madvise(addr as *mut libc::c_void, len, libc::MADV_DONTNEED);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_clean_read_only_file_mappings() {
        let smaps = "\
5600-5700 r--p 00000000 08:01 1 /usr/bin/x
Rss: 4 kB
Anonymous: 0 kB
5700-5900 r-xp 00100000 08:01 1 /usr/bin/x
Anonymous: 0 kB
5900-5a00 r--p 00200000 08:01 1 /usr/bin/x
Anonymous: 8 kB
5a00-5b00 rw-p 00300000 08:01 1 /usr/bin/x
Anonymous: 0 kB
7f00-7f10 r-xp 00000000 00:00 0 [vdso]
Anonymous: 0 kB
7f20-7f30 r-xp 00000000 00:00 0
Anonymous: 0 kB
";
        assert_eq!(
            droppable_mappings(smaps),
            vec![(0x5600, 0x100), (0x5700, 0x200)]
        );
        assert_eq!(droppable_mappings("garbage"), vec![]);
        // Trimming this very process keeps it working.
        trim();
        let v: Vec<u64> = (0..1000).collect();
        assert_eq!(v.iter().sum::<u64>(), 499500);
    }
}
