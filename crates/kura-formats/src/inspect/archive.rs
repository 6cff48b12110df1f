//! Zip archives (PyTorch checkpoints, `.npz`, `.zip`, pickle files that are archives): the
//! end record from the tail, the central directory, then each member picklescan would scan,
//! found through its local header. Stored members are read as they are; deflated ones are
//! inflated with an output limit; other methods and encrypted members are reported as not
//! read. Every member's offsets are checked against the file; a lie is a problem noted in the
//! facts and the scan goes on with the next member.

use super::source::Source;
use super::stream::{self, Analysis, Poll};
use super::zip::{self, LOCAL_HEADER, Member};
use super::{
    Advance, Inspector, LOCAL_AHEAD, MAX_DIRECTORY_BYTES, MAX_INFLATED_BYTES, MAX_MEMBERS, MAX_STREAM_BYTES,
};
use super::{MAX_MERGED, MEMBERS_WINDOW};
use super::{MAX_NAME_BYTES, MemberStage, State, ZipScan, ZipStage, cut, need, whole};

const PICKLE_EXTENSIONS: [&str; 5] = [".pkl", ".pickle", ".joblib", ".dat", ".data"];

/// Bytes read for a member's local header: the header as the directory describes it, and
/// the first bytes of the data (whatever padding the local extra field adds).
fn local_span(member: &Member) -> u64 {
    LOCAL_HEADER.saturating_add(member.name_len).saturating_add(member.extra_len).saturating_add(LOCAL_AHEAD)
}

impl Inspector {
    /// One step of a zip scan; sets `self.state` when the scan hands over to another state.
    pub(super) fn zip(&mut self, scan: &mut ZipScan) -> Advance {
        match &mut scan.stage {
            ZipStage::Tail(tail) => {
                if let Some((offset, len)) = tail.wants(u64::MAX) {
                    return Advance::Read(offset, len);
                }
                self.found_end(scan)
            }
            ZipStage::Directory { source, shift } => {
                if let Some((offset, len)) = source.wants(u64::MAX) {
                    return Advance::Read(offset, len);
                }
                if let Some(why) = &source.error {
                    self.scan.fail(format!("central directory: {why}"));
                }
                let (members, error) = zip::directory(source.data(), *shift, MAX_MEMBERS);
                if let Some(why) = error {
                    self.scan.fail(why);
                }
                scan.stage = ZipStage::Members { members, next: 0, current: None };
                Advance::Again
            }
            ZipStage::Members { members, next, current } => match current.take() {
                None if *next == members.len() => {
                    if scan.prelude {
                        self.state = State::Stream { file: whole(self.size), analysis: Analysis::Pickles };
                        return Advance::Again;
                    }
                    Advance::Finish
                }
                None => {
                    *current = self.open_member(members, *next).map(|stage| (*next, stage));
                    *next += 1;
                    Advance::Again
                }
                Some((index, stage)) => {
                    let member = &members[index];
                    let (advance, stage) = self.member_step(member, stage);
                    *current = stage.map(|stage| (index, stage));
                    advance
                }
            },
        }
    }

    fn found_end(&mut self, scan: &mut ZipScan) -> Advance {
        let ZipStage::Tail(tail) = &scan.stage else { return Advance::Finish };
        match zip::find_end(tail.data(), self.size) {
            Err(why) => self.scan.fail(why),
            Ok(None) if scan.required => self.scan.fail("a zip archive without its end record".into()),
            Ok(None) if scan.seven_z => self.scan.fail("7z archives are not read".into()),
            Ok(None) => {
                self.state = State::Stream { file: whole(self.size), analysis: Analysis::Pickles };
                return Advance::Again;
            }
            Ok(Some(end)) if end.size > MAX_DIRECTORY_BYTES => {
                self.scan.fail(format!("a central directory of {} bytes, over the budget", end.size))
            }
            Ok(Some(end)) => {
                let source = Source::stored(end.start, end.size, end.size);
                scan.stage = ZipStage::Directory { source, shift: end.shift };
                return Advance::Again;
            }
        }
        Advance::Finish
    }

    /// The first stage of the scan of `members[index]`, or `None` when it is not read.
    fn open_member(&mut self, members: &[Member], index: usize) -> Option<MemberStage> {
        let member = members.get(index)?;
        let offset = u64::try_from(member.offset).ok().filter(|o| *o < self.size);
        let Some(offset) = offset else {
            self.scan.fail(format!("{}: local header at {}, outside the file", member.name, member.offset));
            return None;
        };
        let span = local_span(member).min(self.size - offset);
        self.widen_to = self.window_end(members.get(index + 1..).unwrap_or_default(), offset, offset + span);
        Some(MemberStage::Local(Source::stored(offset, span, span)))
    }

    /// Where the read of a local header (at `offset`, to `end`) may end so that the headers of
    /// the members after it, and their first bytes, come along: small members lie side by
    /// side, and each read costs a whole storage chunk. `None` when none fits the window.
    fn window_end(&self, after: &[Member], offset: u64, end: u64) -> Option<u64> {
        let limit = offset.saturating_add(MEMBERS_WINDOW);
        let (mut last, mut window) = (offset, end);
        for member in after.iter().take(MAX_MERGED) {
            let Some(at) = u64::try_from(member.offset)
                .ok()
                .filter(|at| *at >= last.saturating_add(LOCAL_HEADER) && *at < self.size)
            else {
                break;
            };
            let member_end = at.saturating_add(local_span(member)).min(self.size);
            if member_end > limit {
                break;
            }
            (last, window) = (at, window.max(member_end));
        }
        (window > end).then_some(window)
    }

    fn member_step(&mut self, member: &Member, stage: MemberStage) -> (Advance, Option<MemberStage>) {
        let label = format!("{}: ", cut(&member.name, MAX_NAME_BYTES));
        match stage {
            MemberStage::Local(mut local) => {
                if let Some((offset, len)) = local.wants(u64::MAX) {
                    return (Advance::Read(offset, len), Some(MemberStage::Local(local)));
                }
                match self.member_data(member, &local) {
                    Ok(stage) => (Advance::Again, Some(stage)),
                    Err(why) => {
                        self.scan.fail(format!("{label}{why}"));
                        (Advance::Again, None)
                    }
                }
            }
            MemberStage::Data(mut source, analysis) => match stream::poll(analysis, &source) {
                Poll::Need(len) => {
                    let advance = need(&mut source, len);
                    (advance, Some(MemberStage::Data(source, analysis)))
                }
                Poll::Done(outcome) => {
                    self.scan.absorb(outcome, &source, &label);
                    (Advance::Again, None)
                }
            },
        }
    }

    /// The source of a member's data, from its local header.
    fn member_data(&mut self, member: &Member, local: &Source) -> Result<MemberStage, String> {
        let offset = u64::try_from(member.offset).unwrap_or(0);
        let start = match zip::data_start(local.data(), offset) {
            Ok(start) => start,
            Err(why) => return Err(why.unwrap_or_else(|| "the local header is truncated".into())),
        };
        if start.checked_add(member.compressed).is_none_or(|end| end > self.size) {
            return Err(format!("{} bytes of data at {start}, past the end of the file", member.compressed));
        }
        let extension = zip::extension(&member.name);
        let analysis = Analysis::Member {
            pickle_name: PICKLE_EXTENSIONS.contains(&extension.as_str()),
            npy_name: extension == ".npy",
        };
        if member.flags & 1 != 0 {
            return Err("an encrypted member is not read".into());
        }
        let source = match member.method {
            0 => {
                if member.compressed != member.size {
                    self.scan.fail(format!("{}: a stored member whose two sizes differ", member.name));
                }
                let first = local.data().get(usize::try_from(start - offset).unwrap_or(usize::MAX)..);
                let span = member.compressed.min(member.size);
                Source::stored_from(start, span, MAX_STREAM_BYTES, first.unwrap_or_default())
            }
            8 => {
                let limit = MAX_STREAM_BYTES.min(member.size).min(self.inflate_left);
                if limit < MAX_STREAM_BYTES.min(member.size) {
                    self.inflate_left = 0;
                    return Err(format!(
                        "the archive's members inflate past {MAX_INFLATED_BYTES} bytes in all"
                    ));
                }
                self.inflate_left -= limit;
                Source::deflated(start, member.compressed, member.size, MAX_STREAM_BYTES)
            }
            method => return Err(format!("compression method {method} is not read")),
        };
        Ok(MemberStage::Data(source, analysis))
    }
}
