//! The chaos test's checks after every child ended (the list is in `main.rs`'s module docs).

use ringflow::Ring;

use super::children::{Participant, Role};
use super::ranges::Ranges;
use super::{Run, LOSSLESS, LOSSY, MAX_BATCH, MAX_CONSUMERS};

/// The checks after the end (see the module docs).
pub(super) fn check(run: &mut Run, ring: &Ring) {
    let stats = ring.stats();
    let published = stats.published;
    let mut failures = Vec::new();
    for part in &run.parts {
        for e in &part.errors {
            failures.push(format!(
                "{:?} {} (pid {}, killed {}): {e}",
                part.role, part.id, part.pid, part.killed
            ));
        }
        if part.killed {
            continue;
        }
        let ok = part.exited.is_some_and(|s| s.success());
        if !ok {
            failures.push(format!(
                "{:?} {} (pid {}) ended with {:?}",
                part.role, part.id, part.pid, part.exited
            ));
        }
    }
    // Readers that survived: nothing unread, every seq accounted for.
    let survivors: Vec<&Participant> = run
        .parts
        .iter()
        .filter(|p| p.role.is_reader() && !p.killed)
        .collect();
    if survivors.len() != LOSSLESS + LOSSY {
        failures.push(format!(
            "{} readers survived, not {}",
            survivors.len(),
            LOSSLESS + LOSSY
        ));
    }
    let mut pairs_checked = 0;
    for r in &survivors {
        let Some(end) = &r.end_reader else {
            failures.push(format!("{:?} reader {} printed no end line", r.role, r.id));
            continue;
        };
        let who = format!("{:?} reader {} (pid {})", r.role, r.id, r.pid);
        if end.errors as usize != r.errors.len() {
            failures.push(format!("{who} counted {} failed checks in all", end.errors));
        }
        if end.how != "closed" && end.how != "producer_gone" {
            failures.push(format!("{who} ended {}", end.how));
        }
        if end.next != published {
            failures.push(format!(
                "{who} ended at seq {} of {published} published",
                end.next
            ));
        }
        if r.start
            .map(|(s, p)| s != p || s != end.start)
            .unwrap_or(true)
        {
            failures.push(format!(
                "{who}: start {:?}, end line says {}",
                r.start, end.start
            ));
        }
        if end.delivered + end.lost + end.skips != end.next - end.start {
            failures.push(format!(
                "{who}: {} delivered + {} lost + {} skips != seqs {}..{}",
                end.delivered, end.lost, end.skips, end.start, end.next
            ));
        }
        if r.role != Role::Lossless {
            continue;
        }
        if end.lost != 0 || end.torn != 0 {
            failures.push(format!(
                "{who} lost {} and tore {} frames",
                end.lost, end.torn
            ));
        }
        for p in run.parts.iter().filter(|p| p.role == Role::Producer) {
            let seen = end.producers.iter().find(|s| s.0 as usize == p.id);
            if let Some((sent, first_seq, Some(last_seq))) = p.end_producer.filter(|_| !p.killed) {
                if last_seq < end.start {
                    continue;
                }
                pairs_checked += 1;
                let whole = first_seq.is_some_and(|f| f >= end.start);
                match seen {
                    Some(&(_, first, last, count))
                        if last + 1 == sent && (!whole || (first == 0 && count == sent)) => {}
                    _ => failures.push(format!(
                        "{who} saw producer {} as (id, first, last, frames) {seen:?}, but it committed {sent} frames, seqs {first_seq:?}..={last_seq}", p.id
                    )),
                }
            } else if let Some(progress) = p.progress.filter(|_| p.killed) {
                if progress.sent == 0 || progress.last_seq < end.start {
                    continue;
                }
                pairs_checked += 1;
                if seen.is_none_or(|s| s.2 + 1 < progress.sent) {
                    failures.push(format!(
                        "{who} saw killed producer {} as {seen:?}, but it had committed {} frames up to seq {}",
                        p.id, progress.sent, progress.last_seq
                    ));
                }
            }
        }
        for s in &end.producers {
            if run
                .parts
                .get(s.0 as usize)
                .is_none_or(|p| p.role != Role::Producer)
            {
                failures.push(format!(
                    "{who} saw frames of producer {} the test never started",
                    s.0
                ));
            }
        }
    }
    if pairs_checked == 0 {
        failures.push("no producer could be held against a surviving lossless reader".into());
    }
    // abandoned against the skip frames seen.
    let mut covered = Ranges::default();
    for r in run.parts.iter().filter(|p| p.role == Role::Lossless) {
        if let (Some((start, _)), Some(next)) = (r.start, r.next) {
            covered.add(start, next);
        }
    }
    let seen = run.skips.len();
    let uncovered = published - covered.union(&run.skips).len();
    let producer_kills = run.kills.get(&Role::Producer).copied().unwrap_or(0);
    if run.skips.max().is_some_and(|m| m > published) {
        failures.push(format!(
            "skip frames seen up to seq {:?}, past {published} published",
            run.skips.max()
        ));
    }
    if stats.abandoned < seen || stats.abandoned > seen + uncovered {
        failures.push(format!(
            "abandoned {} but readers saw {seen} skip frames, and {uncovered} seqs no lossless reader accounted for",
            stats.abandoned
        ));
    }
    if stats.abandoned > producer_kills * MAX_BATCH {
        failures.push(format!(
            "abandoned {} after only {producer_kills} producer kills",
            stats.abandoned
        ));
    }
    println!("chaos: skip frames seen {seen}, seqs no lossless reader accounted for {uncovered}");
    // No leaked consumer block.
    let live = ring.live_participants();
    if !live.is_empty() {
        failures.push(format!(
            "participants alive after every child ended: {live:?}"
        ));
    }
    let pids: Vec<u32> = run.parts.iter().map(|p| p.pid).collect();
    for c in &stats.consumers {
        if !pids.contains(&c.pid) {
            failures.push(format!(
                "consumer block {} owned by pid {}, no child of the test",
                c.index, c.pid
            ));
        }
    }
    let again: Vec<_> = (0..MAX_CONSUMERS).map(|_| ring.consumer()).collect();
    let refused = again.iter().filter(|c| c.is_err()).count();
    if refused > 0 {
        failures.push(format!(
            "{refused} of {MAX_CONSUMERS} consumer blocks could not be registered again: leaked"
        ));
    }
    drop(again);
    if !ring.stats().consumers.is_empty() {
        failures.push(format!(
            "consumer blocks not free after their consumers dropped: {:?}",
            ring.stats().consumers
        ));
    }
    for role in [Role::Producer, Role::Lossless, Role::Lossy] {
        if run.kills.get(&role).copied().unwrap_or(0) == 0 {
            failures.push(format!(
                "no {role:?} was killed: the run proves nothing about it"
            ));
        }
    }
    for f in failures {
        run.fail(f);
    }
}
