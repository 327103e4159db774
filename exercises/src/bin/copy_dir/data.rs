//! Copying the bytes of one open file into another, the way the notes' `sf.write(f.read())`
//! should have: in bounded chunks, never the whole file in memory.
//!
//! - The kernel copies (`copy_file_range`): no bytes pass through this process, and a
//!   filesystem that can share extents (btrfs, XFS, NFS) makes it a reflink.
//! - Where the kernel refuses (another filesystem, an old kernel, a special file system that
//!   reports 0 bytes), it falls back to `pread`/`pwrite` with a 1 MiB buffer.
//! - A short copy is continued from where it stopped.
//! - A sparse file (fewer blocks allocated than its size says) is copied extent by extent with
//!   `SEEK_DATA`/`SEEK_HOLE`, and the holes stay holes.
//! - Between chunks it checks for Ctrl-C, so a big file is abandoned within one chunk.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use nix::errno::Errno;
use nix::fcntl::copy_file_range;
use nix::unistd::{Whence, lseek};

use crate::interrupt;

/// The most one system call copies: small enough that Ctrl-C is noticed quickly.
const CHUNK: usize = 64 << 20;
/// The buffer of the read/write fallback.
const BUFFER: usize = 1 << 20;

/// Copies `len` bytes of `src` into the empty file `dst`; `allocated` is what `src` occupies
/// on disk (`st_blocks * 512`), which tells a sparse file.
pub(crate) fn copy(src: &File, dst: &File, len: u64, allocated: u64) -> io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    if allocated < len {
        match copy_extents(src, dst, len) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {} // no SEEK_DATA here
            other => return other,
        }
    }
    copy_range(src, dst, 0, len)
}

/// Copies only the data extents of a sparse file, then sets the length (a trailing hole).
fn copy_extents(src: &File, dst: &File, len: u64) -> io::Result<()> {
    let mut offset = 0i64;
    while (offset as u64) < len {
        let data = match lseek(src, offset, Whence::SeekData) {
            Ok(data) => data,
            Err(Errno::ENXIO) => break, // only a hole remains
            Err(e) => return Err(e.into()),
        };
        let hole = lseek(src, data, Whence::SeekHole)?;
        let end = (hole as u64).min(len);
        if end > data as u64 {
            copy_range(src, dst, data as u64, end - data as u64)?;
        }
        offset = hole;
    }
    dst.set_len(len)
}

/// Copies `count` bytes at `start` of `src` to the same offset of `dst`.
fn copy_range(src: &File, dst: &File, start: u64, count: u64) -> io::Result<()> {
    let (mut offset_in, mut offset_out) = (start as i64, start as i64);
    let end = start + count;
    while (offset_in as u64) < end {
        if interrupt::requested() {
            return Err(interrupt::error());
        }
        let want = (end - offset_in as u64).min(CHUNK as u64) as usize;
        match copy_file_range(src, Some(&mut offset_in), dst, Some(&mut offset_out), want) {
            Ok(0) if offset_in as u64 == start => break, // e.g. procfs: let read/write try
            Ok(0) => return Ok(()),                      // the file shrank while we copied
            Ok(_) => {}
            Err(Errno::EINTR) => {}
            Err(
                Errno::EXDEV | Errno::EINVAL | Errno::ENOSYS | Errno::EOPNOTSUPP | Errno::EPERM,
            ) => {
                break;
            }
            Err(e) => return Err(e.into()),
        }
    }
    if (offset_in as u64) < end {
        read_write(src, dst, offset_in as u64, end)?;
    }
    Ok(())
}

/// The fallback: `pread` into a buffer, `pwrite` it out, from `offset` up to `end`.
fn read_write(src: &File, dst: &File, mut offset: u64, end: u64) -> io::Result<()> {
    let mut buffer = vec![0u8; BUFFER.min((end - offset) as usize)];
    while offset < end {
        if interrupt::requested() {
            return Err(interrupt::error());
        }
        let want = buffer.len().min((end - offset) as usize);
        let read = match src.read_at(&mut buffer[..want], offset) {
            Ok(0) => return Ok(()), // the file shrank while we copied
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        dst.write_all_at(&buffer[..read], offset)?;
        offset += read as u64;
    }
    Ok(())
}
