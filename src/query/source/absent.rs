//! A column the segment does not store (added to the schema after the
//! segment was built): every doc holds the column's default null value and
//! is null, as Pinot answers for such columns.

use roaring::RoaringBitmap;

use super::ColumnSource;
use crate::expr::value::{Kind, Value, Vector};
use crate::query::docs::Docs;

pub struct AbsentColumn {
    pub default: Value,
    pub kind: Kind,
    pub single_value: bool,
    pub num_docs: usize,
}

impl ColumnSource for AbsentColumn {
    fn kind(&self) -> Kind {
        self.kind
    }

    fn single_value(&self) -> bool {
        self.single_value
    }

    fn min_max(&self) -> Option<(Value, Value)> {
        Some((self.default.clone(), self.default.clone()))
    }

    fn cardinality(&self) -> Option<usize> {
        Some(1)
    }

    fn dict_sorted(&self) -> bool {
        true
    }

    fn dict_value(&self, _id: u32) -> Value {
        self.default.clone()
    }

    fn id_of(&self, value: &Value) -> Option<u32> {
        (*value == self.default).then_some(0)
    }

    fn ids(&self, docs: Docs<'_>, out: &mut Vec<u32>) {
        out.clear();
        out.resize(docs.len(), 0);
    }

    fn doc_ids(&self, _doc: u32, out: &mut Vec<u32>) {
        out.clear();
        out.push(0);
    }

    fn values(&self, docs: Docs<'_>) -> Vector {
        if self.single_value {
            Vector::constant(&self.default, self.kind, docs.len())
        } else {
            Vector::Array(vec![vec![self.default.clone()]; docs.len()])
        }
    }

    fn nulls(&self) -> Option<RoaringBitmap> {
        let mut all = RoaringBitmap::new();
        all.insert_range(0..self.num_docs as u32);
        Some(all)
    }
}
