//! Segments of upsert and dedup tables as query sources: each segment of
//! a partition's [`View`](crate::upsert::View) with the docs queries see
//! (the latest version of each key), or with every doc for `skipUpsert`.

use std::sync::Arc;

use roaring::RoaringBitmap;

use super::{ColumnSource, MutableSnapshot, SegmentSource};
use crate::segment::SegmentTree;
use crate::upsert::{Form, TableUpsert, ViewSegment};

/// A segment restricted to its valid docs.
pub struct UpsertSource {
    inner: Arc<dyn SegmentSource>,
    valid: Arc<RoaringBitmap>,
}

impl SegmentSource for UpsertSource {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn num_docs(&self) -> usize {
        self.inner.num_docs()
    }

    fn consuming_since(&self) -> Option<i64> {
        self.inner.consuming_since()
    }

    fn column(&self, name: &str) -> Option<Box<dyn ColumnSource + '_>> {
        self.inner.column(name)
    }

    /// Pre-aggregated records would count replaced versions.
    fn star_trees(&self) -> &[SegmentTree] {
        &[]
    }

    fn valid_docs(&self) -> Option<&RoaringBitmap> {
        Some(&self.valid)
    }
}

/// The segment of a view, fixed at the docs the view covers.
fn source_of(segment: &ViewSegment) -> Arc<dyn SegmentSource> {
    match &segment.form {
        Form::Sealed(sealed) => sealed.clone(),
        Form::Consuming(consuming) => Arc::new(MutableSnapshot::with_docs(
            segment.name.clone(),
            consuming.clone(),
            segment.docs,
        )),
    }
}

/// Every segment of an upsert table as one consistent snapshot per
/// partition; with `every_version` (`skipUpsert`), all their docs.
pub fn upsert_sources(upsert: &TableUpsert, every_version: bool) -> Vec<Arc<dyn SegmentSource>> {
    let mut out: Vec<Arc<dyn SegmentSource>> = Vec::new();
    for view in upsert.views() {
        // Segments with no docs yet are kept: a consuming segment that has
        // taken nothing in still answers for its partition's rows.
        for segment in &view.segments {
            let inner = source_of(segment);
            if every_version {
                out.push(inner);
            } else {
                out.push(Arc::new(UpsertSource {
                    inner,
                    valid: segment.valid.clone(),
                }));
            }
        }
    }
    out
}
