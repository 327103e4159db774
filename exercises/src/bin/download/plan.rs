//! Which bytes each coroutine fetches: the file's length cut into segments, and work stealing.
//!
//! The notes' `get_download_range` cut the length into fixed ranges once; a slow connection
//! then held up the end of the whole download. Here a coroutine that finishes its segment
//! takes the upper half of the segment with the most bytes left, and that segment's owner
//! stops at the new boundary.
//!
//! Each segment tracks three offsets, `start <= written <= received <= end`: bytes below
//! `received` have arrived (a retry resumes there), bytes below `written` are in the file
//! (what the control file records, so `-c` resumes there).

use std::sync::Mutex;

/// A segment as the control file stores it: `[start, written, end]`.
pub(crate) type Saved = [u64; 3];

#[derive(Debug, Clone)]
struct Segment {
    start: u64,
    received: u64,
    written: u64,
    end: u64,
    owned: bool,
}

/// The segments of one download. The lock is held for a few instructions, never across I/O
/// or a coroutine switch, so a std `Mutex` cannot stall a may worker.
#[derive(Debug)]
pub(crate) struct Plan {
    segments: Mutex<Vec<Segment>>,
    /// No split leaves fewer bytes than this on either side.
    min_split: u64,
}

impl Plan {
    /// `count` segments of (nearly) equal size; an unknown length (`u64::MAX`) is one.
    pub(crate) fn new(length: u64, count: u64, min_split: u64) -> Plan {
        let count = count.clamp(1, length.max(1));
        let bounds: Vec<Saved> = (0..count)
            .map(|i| {
                let start = length / count * i;
                let end = if i + 1 == count {
                    length
                } else {
                    length / count * (i + 1)
                };
                [start, start, end]
            })
            .collect();
        Plan::resume(&bounds, min_split)
    }

    /// The segments saved in a control file; each starts again at its `written` offset.
    pub(crate) fn resume(saved: &[Saved], min_split: u64) -> Plan {
        let segments = saved
            .iter()
            .map(|&[start, written, end]| Segment {
                start,
                received: written,
                written,
                end,
                owned: false,
            })
            .collect();
        Plan {
            segments: Mutex::new(segments),
            min_split,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Segment>> {
        // A panic while holding the lock leaves consistent offsets: recover them.
        self.segments.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An unfinished segment nobody works on, or else half of the largest remaining one.
    /// Returns its index and whether it was stolen.
    pub(crate) fn next_job(&self) -> Option<(usize, bool)> {
        let mut segments = self.lock();
        if let Some(index) = segments.iter().position(|s| !s.owned && s.received < s.end) {
            segments[index].owned = true;
            return Some((index, false));
        }
        let (victim, left) = segments
            .iter()
            .enumerate()
            .map(|(i, s)| (i, s.end - s.received))
            .max_by_key(|&(_, left)| left)?;
        if left < 2 * self.min_split {
            return None;
        }
        let middle = segments[victim].received + left / 2;
        let end = std::mem::replace(&mut segments[victim].end, middle);
        segments.push(Segment {
            start: middle,
            received: middle,
            written: middle,
            end,
            owned: true,
        });
        Some((segments.len() - 1, true))
    }

    /// Gives a segment back (its owner stopped or failed), so that it can be resumed.
    pub(crate) fn release(&self, index: usize) {
        self.lock()[index].owned = false;
    }

    /// Where segment `index` continues and where it ends now.
    pub(crate) fn range(&self, index: usize) -> (u64, u64) {
        let segment = &self.lock()[index];
        (segment.received, segment.end)
    }

    /// Takes up to `len` newly received bytes of segment `index`: returns the file offset
    /// they go to and how many still belong to the segment (its end may have moved).
    pub(crate) fn receive(&self, index: usize, len: u64) -> (u64, u64) {
        let segment = &mut self.lock()[index];
        let offset = segment.received;
        let taken = len.min(segment.end - offset);
        segment.received += taken;
        (offset, taken)
    }

    /// Starts segment `index` again from its beginning (a stream that cannot resume).
    pub(crate) fn restart(&self, index: usize) {
        let segment = &mut self.lock()[index];
        segment.received = segment.start;
        segment.written = segment.start;
    }

    /// Records that the bytes of segment `index` below `upto` are in the file.
    pub(crate) fn written(&self, index: usize, upto: u64) {
        let segment = &mut self.lock()[index];
        segment.written = segment.written.max(upto);
    }

    /// Ends an unknown-length stream at the bytes it received.
    pub(crate) fn close_at_received(&self, index: usize) {
        let segment = &mut self.lock()[index];
        segment.end = segment.received;
    }

    /// Bytes in the file so far.
    pub(crate) fn bytes_written(&self) -> u64 {
        self.lock().iter().map(|s| s.written - s.start).sum()
    }

    pub(crate) fn is_complete(&self) -> bool {
        self.lock().iter().all(|s| s.written == s.end)
    }

    pub(crate) fn snapshot(&self) -> Vec<Saved> {
        self.lock()
            .iter()
            .map(|s| [s.start, s.written, s.end])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cover_the_file_once() {
        let plan = Plan::new(1003, 4, 1);
        let saved = plan.snapshot();
        assert_eq!(saved.first().unwrap()[0], 0);
        assert_eq!(saved.last().unwrap()[2], 1003);
        assert!(saved.windows(2).all(|w| w[0][2] == w[1][0]));
    }

    #[test]
    fn a_finished_worker_takes_half_of_the_largest_remaining_segment() {
        let plan = Plan::new(1000, 2, 10);
        assert_eq!(plan.next_job(), Some((0, false)));
        assert_eq!(plan.next_job(), Some((1, false)));
        plan.receive(0, 100); // segment 0 has 400 left, segment 1 has 500
        assert_eq!(plan.next_job(), Some((2, true)));
        assert_eq!(plan.range(1), (500, 750));
        assert_eq!(plan.range(2), (750, 1000));
        // The old owner's stream is cut at the new end.
        assert_eq!(plan.receive(1, 300), (500, 250));
    }
}
