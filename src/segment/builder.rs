//! `SegmentBuilder`: builds segment files straight from batches of rows
//! (batch ingestion), without the hashing and locking a queryable
//! [`super::MutableSegment`] needs. Values collect in plain typed vectors;
//! dictionaries come from one sort per column when the file is written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use roaring::RoaringBitmap;

use super::error::{BlockError, Error, Result, ValueError};
use super::format::SegmentMeta;
use super::mutable::conform_row;
use super::seal::Order;
use super::spec::SegmentSpec;
use super::values::Values;
use super::writer::{write_segment, ColumnData, DocIds, SealInfo};

struct ColumnBuffer {
    /// One value per doc (single-value) or all values (multi-value).
    values: Values,
    /// Multi-value: `starts[d]..starts[d+1]` index `values`.
    starts: Option<Vec<u32>>,
    nulls: RoaringBitmap,
}

/// One column of a batch of rows, already converted to the column's type.
pub enum Chunk {
    /// Single-value column: one value per row (the default where null),
    /// and the rows that were null.
    Values { values: Values, nulls: Vec<u32> },
    /// Any column: one cell per row.
    Cells(Vec<super::Cell>),
}

impl Chunk {
    /// Rows `range` of the chunk.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Chunk {
        match self {
            Chunk::Values { values, nulls } => Chunk::Values {
                values: values.slice(range.clone()),
                nulls: nulls
                    .iter()
                    .filter(|&&row| range.contains(&(row as usize)))
                    .map(|&row| row - range.start as u32)
                    .collect(),
            },
            Chunk::Cells(cells) => Chunk::Cells(cells[range].to_vec()),
        }
    }
}

pub struct SegmentBuilder {
    spec: Arc<SegmentSpec>,
    columns: Vec<ColumnBuffer>,
    num_docs: usize,
    created_millis: i64,
}

impl SegmentBuilder {
    pub fn new(spec: Arc<SegmentSpec>) -> SegmentBuilder {
        let columns = spec
            .columns
            .iter()
            .map(|column| ColumnBuffer {
                values: Values::new(column.physical),
                starts: (!column.single_value).then(|| vec![0]),
                nulls: RoaringBitmap::new(),
            })
            .collect();
        SegmentBuilder {
            spec,
            columns,
            num_docs: 0,
            created_millis: super::mutable::now_millis(),
        }
    }

    pub fn num_docs(&self) -> usize {
        self.num_docs
    }

    pub fn created_millis(&self) -> i64 {
        self.created_millis
    }

    /// Appends rows, each checked whole first; stops at the first bad row
    /// (reported with its index in `rows`), keeping the rows before it.
    pub fn append(&mut self, rows: &[Vec<super::Cell>]) -> Result<usize> {
        for (index, row) in rows.iter().enumerate() {
            let cells =
                conform_row(&self.spec, row).map_err(|(column, reason)| Error::BadValue {
                    row: index as u64,
                    column,
                    reason,
                })?;
            let doc = self.num_docs as u32;
            for ((values, null), buffer) in cells.iter().zip(&mut self.columns) {
                if *null {
                    buffer.nulls.push(doc);
                }
                for value in values.as_slice() {
                    buffer.values.push(value);
                }
                if let Some(starts) = &mut buffer.starts {
                    starts.push(buffer.values.len() as u32);
                }
            }
            self.num_docs += 1;
        }
        Ok(rows.len())
    }

    /// Appends `rows` rows given column by column (all of them good):
    /// `chunks[i]` holds column `i`'s values.
    pub fn append_chunks(&mut self, rows: usize, chunks: &[Chunk]) -> Result<()> {
        for (chunk, (buffer, column)) in chunks
            .iter()
            .zip(self.columns.iter_mut().zip(&self.spec.columns))
        {
            match chunk {
                Chunk::Values { values, nulls } if column.single_value && values.len() == rows => {
                    buffer.values.extend(values);
                    for &row in nulls {
                        buffer.nulls.push(self.num_docs as u32 + row);
                    }
                }
                Chunk::Cells(cells) if cells.len() == rows => {
                    for (row, cell) in cells.iter().enumerate() {
                        let conformed =
                            super::mutable::conform_cell(cell, column).map_err(|reason| {
                                Error::BadValue {
                                    row: row as u64,
                                    column: column.name.clone(),
                                    reason,
                                }
                            })?;
                        if conformed.1 {
                            buffer.nulls.push((self.num_docs + row) as u32);
                        }
                        for value in conformed.0.as_slice() {
                            buffer.values.push(value);
                        }
                        if let Some(starts) = &mut buffer.starts {
                            starts.push(buffer.values.len() as u32);
                        }
                    }
                }
                _ => {
                    return Err(Error::BadValue {
                        row: 0,
                        column: column.name.clone(),
                        reason: ValueError::ChunkShape { rows },
                    })
                }
            }
        }
        self.num_docs += rows;
        Ok(())
    }

    /// Writes the segment file and returns its path and footer.
    pub fn build(self, dir: &Path, info: &SealInfo) -> Result<(PathBuf, SegmentMeta)> {
        let SegmentBuilder {
            spec,
            columns,
            num_docs,
            created_millis,
        } = self;
        let order = spec.sorted_column.map(|index| {
            let (dictionary, ids) = columns[index].values.dictionary_encode();
            Order::by_ids(&ids, dictionary.len())
        });
        let mut columns: Vec<Option<ColumnBuffer>> = columns.into_iter().map(Some).collect();
        write_segment(dir, &spec, num_docs, created_millis, info, |index| {
            let buffer = columns[index]
                .take()
                .ok_or(BlockError::Inconsistent("column written twice"))?;
            let column = &spec.columns[index];
            let nulls = Order::remap_docs(order.as_ref(), &buffer.nulls);
            let data = match buffer.starts {
                None => {
                    let values = match &order {
                        Some(order) => buffer.values.gather(&order.old_of_new),
                        None => buffer.values,
                    };
                    if column.dictionary {
                        let (dictionary, ids) = values.dictionary_encode();
                        ColumnData::Dict {
                            dictionary,
                            ids: DocIds::Single(ids),
                        }
                    } else {
                        ColumnData::Raw { values }
                    }
                }
                Some(starts) => {
                    let (dictionary, value_ids) = buffer.values.dictionary_encode();
                    let mut new_starts = Vec::with_capacity(num_docs + 1);
                    let mut ids = Vec::with_capacity(value_ids.len());
                    new_starts.push(0u32);
                    for doc in 0..num_docs {
                        let source = order
                            .as_ref()
                            .map_or(doc, |order| order.old_of_new[doc] as usize);
                        ids.extend_from_slice(
                            &value_ids[starts[source] as usize..starts[source + 1] as usize],
                        );
                        new_starts.push(ids.len() as u32);
                    }
                    ColumnData::Dict {
                        dictionary,
                        ids: DocIds::Multi {
                            starts: new_starts,
                            ids,
                        },
                    }
                }
            };
            Ok((data, nulls))
        })
    }
}
