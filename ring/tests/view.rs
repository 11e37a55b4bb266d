//! `RingView`: a ring opened to look only, mapped without write permission.

use std::os::unix::fs::PermissionsExt;

use ringflow::{ProducerOptions, Ring, RingConfig, RingView};

/// The permissions (`rw-s`, `r--s`...) of this process's mappings of `path`.
fn mapping_perms(path: &std::path::Path) -> Vec<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let name = path.to_str().unwrap();
    maps.lines()
        .filter(|l| l.ends_with(name))
        .map(|l| l.split_whitespace().nth(1).unwrap().to_string())
        .collect()
}

#[test]
fn a_view_of_a_read_only_file_sees_everything_and_maps_nothing_writable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    {
        let ring = Ring::create(&path, &RingConfig::new(8, 32)).unwrap();
        let mut p = ring.producer(ProducerOptions::default()).unwrap();
        for _ in 0..3 {
            p.push(b"frame").unwrap();
        }
        // Dropped: the ring is closed, and this process maps it no more.
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let view = RingView::open(&path).unwrap();
    let s = view.stats();
    assert_eq!((view.capacity(), view.slot_size(), s.published), (8, 32, 3));
    assert!(s.closed);
    assert!(view.live_participants().is_empty());
    let perms = mapping_perms(&path);
    assert_eq!(perms.len(), 1, "{perms:?}");
    assert!(
        perms[0].starts_with("r-"),
        "the view's mapping must not be writable: {perms:?}"
    );
}

#[test]
fn a_view_tells_live_participants_from_dead_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring");
    let ring = Ring::create(&path, &RingConfig::new(8, 32)).unwrap();
    let producer = ring.producer(ProducerOptions::default()).unwrap();
    let consumer = ring.consumer().unwrap();
    let view = RingView::open(&path).unwrap();
    let s = view.stats();
    assert_eq!(s.producers.len(), 1);
    assert!(s.producers[0].alive && s.consumers[0].alive, "{s:?}");
    assert_eq!(view.live_participants().len(), 2);
    drop((producer, consumer));
    assert!(view.live_participants().is_empty());
}
