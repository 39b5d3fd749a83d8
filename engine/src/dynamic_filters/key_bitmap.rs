//! A set of integer join keys as a bitmap: a probe row is checked in a nanosecond or two,
//! where a lookup in the join's hash table costs what the join's own probe does.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::buffer::{BooleanBuffer, NullBuffer};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type, Schema};
use datafusion::error::Result;
use datafusion::physical_expr::PhysicalExpr;

/// Keys per block: 2^16, 8 KiB of bits.
const BLOCK_SHIFT: u32 = 16;
const BLOCK_WORDS: usize = 1 << (BLOCK_SHIFT - 6);
/// Blocks allocated at most: 32 MiB, the bits of a dense range of 268M keys.
const MAX_BLOCKS: usize = 4096;
/// The directory spans at most this many blocks (a range of 2^32 keys, 512 KiB of pointers).
const MAX_SPAN: u64 = 1 << 16;

type Block = Box<[u64; BLOCK_WORDS]>;

/// `key` itself when its type can go into a bitmap: its values fit an `i64` (every integer
/// type but `UInt64`, and dates).
pub(super) fn bitmap_key(
    key: &Arc<dyn PhysicalExpr>,
    schema: &Schema,
) -> Option<Arc<dyn PhysicalExpr>> {
    let fits = |t: DataType| {
        (t.is_integer() && t != DataType::UInt64)
            || matches!(t, DataType::Date32 | DataType::Date64)
    };
    key.data_type(schema)
        .is_ok_and(fits)
        .then(|| Arc::clone(key))
}

/// A bitmap key's values in `batch`, as `i64`s (the same values, so build and probe sides
/// compare).
pub(super) fn key_values(key: &Arc<dyn PhysicalExpr>, batch: &RecordBatch) -> Result<ArrayRef> {
    let values = key.evaluate(batch)?.into_array(batch.num_rows())?;
    Ok(cast(&values, &DataType::Int64)?)
}

/// The keys present, in blocks of 2^16 allocated where keys fall: a dense range of keys
/// costs a bit each, keys far apart a block each, up to `MAX_BLOCKS`.
#[derive(Default, Debug)]
pub(super) struct KeyBitmap {
    /// Block number (of the key's order-preserving `u64`) of `blocks[0]`.
    first: u64,
    blocks: Vec<Option<Block>>,
    allocated: usize,
}

/// `i64` to `u64` keeping the order, so that negative keys sit below positive ones.
fn ordered(key: i64) -> u64 {
    (key as u64) ^ (1 << 63)
}

impl KeyBitmap {
    /// Adds every non-null key of an `Int64` array; `false` when the keys spread too far
    /// for a bitmap (the bitmap is then incomplete and must not be used).
    pub(super) fn insert_all(&mut self, keys: &dyn Array) -> bool {
        let keys = keys.as_primitive::<Int64Type>();
        if keys.null_count() == 0 {
            keys.values().iter().all(|&k| self.insert(k))
        } else {
            keys.iter().flatten().all(|k| self.insert(k))
        }
    }

    fn insert(&mut self, key: i64) -> bool {
        let key = ordered(key);
        let Some(words) = self.block_mut(key >> BLOCK_SHIFT) else {
            return false;
        };
        let bit = (key & ((1 << BLOCK_SHIFT) - 1)) as usize;
        words[bit >> 6] |= 1 << (bit & 63);
        true
    }

    /// The block numbered `block`, allocated if it was not; `None` past the limits.
    fn block_mut(&mut self, block: u64) -> Option<&mut [u64; BLOCK_WORDS]> {
        if self.blocks.is_empty() {
            self.first = block;
        }
        if block < self.first {
            // Grown by at least the directory's length, so that keys arriving in descending
            // order do not move the directory once per block.
            let (needed, len) = (self.first - block, self.blocks.len() as u64);
            if len + needed > MAX_SPAN {
                return None;
            }
            let grow = needed.max(len).min(self.first).min(MAX_SPAN - len) as usize;
            self.blocks
                .splice(0..0, std::iter::repeat_with(|| None).take(grow));
            self.first -= grow as u64;
        }
        let index = block - self.first;
        if index >= MAX_SPAN {
            return None;
        }
        let index = index as usize;
        if index >= self.blocks.len() {
            self.blocks.resize_with(index + 1, || None);
        }
        let slot = &mut self.blocks[index];
        if slot.is_none() {
            if self.allocated == MAX_BLOCKS {
                return None;
            }
            self.allocated += 1;
            *slot = Some(Box::new([0; BLOCK_WORDS]));
        }
        slot.as_deref_mut()
    }

    fn contains(&self, key: i64) -> bool {
        let key = ordered(key);
        let index = (key >> BLOCK_SHIFT).wrapping_sub(self.first);
        match self.blocks.get(index as usize) {
            Some(Some(words)) => {
                let bit = (key & ((1 << BLOCK_SHIFT) - 1)) as usize;
                words[bit >> 6] & (1 << (bit & 63)) != 0
            }
            _ => false,
        }
    }

    /// Which keys of an `Int64` array are present. A null key passes: whether the join
    /// drops it is the join's business (a `NOT IN` must see it).
    pub(super) fn contains_all(&self, keys: &dyn Array) -> BooleanArray {
        let keys = keys.as_primitive::<Int64Type>();
        let values = keys.values();
        let present = BooleanBuffer::collect_bool(keys.len(), |i| self.contains(values[i]));
        let present = match keys.nulls() {
            // Null rows pass: present OR null.
            Some(nulls) => &present | &!nulls.inner(),
            None => present,
        };
        BooleanArray::new(present, None::<NullBuffer>)
    }

    /// Adds `other`'s keys; `false` past the limits.
    pub(super) fn merge(&mut self, other: &KeyBitmap) -> bool {
        for (i, block) in other.blocks.iter().enumerate() {
            let Some(block) = block else { continue };
            let Some(words) = self.block_mut(other.first + i as u64) else {
                return false;
            };
            words
                .iter_mut()
                .zip(block.iter())
                .for_each(|(w, o)| *w |= o);
        }
        true
    }

    /// Bytes held, for the plan's metrics.
    pub(super) fn size(&self) -> usize {
        self.allocated * BLOCK_WORDS * 8 + self.blocks.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;

    fn bitmap(keys: &[Option<i64>]) -> Option<KeyBitmap> {
        let mut bitmap = KeyBitmap::default();
        bitmap
            .insert_all(&Int64Array::from(keys.to_vec()))
            .then_some(bitmap)
    }

    fn present(bitmap: &KeyBitmap, keys: &[Option<i64>]) -> Vec<bool> {
        let mask = bitmap.contains_all(&Int64Array::from(keys.to_vec()));
        mask.iter().map(|b| b.unwrap()).collect()
    }

    /// Keys on both sides of zero and of block edges, inserted out of order, are found;
    /// their neighbours are not; a null probe key passes.
    #[test]
    fn keys_are_found_and_their_neighbours_are_not() {
        let keys = [65_536, -1, i64::MIN, 0, 65_535, i64::MIN + 70_000, 3 << 20].map(Some);
        // i64::MIN and 3·2^20 are 2^47 blocks apart: too far for one directory.
        assert!(bitmap(&keys).is_none());
        let keys = [65_536, -1, -200_000, 0, 65_535, 3 << 20, 7].map(Some);
        let b = bitmap(&keys).unwrap();
        assert_eq!(present(&b, &keys), vec![true; keys.len()]);
        let others = [
            65_537,
            -2,
            -199_999,
            1,
            65_534,
            (3 << 20) + 1,
            8,
            i64::MIN,
            i64::MAX,
        ];
        assert_eq!(present(&b, &others.map(Some)), vec![false; others.len()]);
        assert_eq!(present(&b, &[None, Some(7), Some(6)]), [true, true, false]);
        // Null build keys match nothing and are left out.
        let b = bitmap(&[None, Some(5)]).unwrap();
        assert_eq!(present(&b, &[Some(5), Some(0)]), [true, false]);
    }

    /// Keys arriving in descending order grow the directory at its front.
    #[test]
    fn descending_keys_grow_the_front() {
        let keys: Vec<_> = (0..200).rev().map(|i| Some(i * 70_000)).collect();
        let b = bitmap(&keys).unwrap();
        assert_eq!(present(&b, &keys), vec![true; 200]);
        assert_eq!(present(&b, &[Some(70_001), Some(-70_000)]), [false, false]);
    }

    /// Keys a block apart each stop at `MAX_BLOCKS`; merging two halves finds both.
    #[test]
    fn sparse_keys_stop_at_the_block_limit_and_halves_merge() {
        let spread = |n: i64| (0..n).map(|i| Some(i << BLOCK_SHIFT)).collect::<Vec<_>>();
        assert!(bitmap(&spread(MAX_BLOCKS as i64)).is_some());
        assert!(bitmap(&spread(MAX_BLOCKS as i64 + 1)).is_none());
        let low = bitmap(&[Some(1), Some(100_000)]).unwrap();
        let mut high = bitmap(&[Some(-5), Some(9_000_000)]).unwrap();
        assert!(high.merge(&low));
        let all = [1, 100_000, -5, 9_000_000].map(Some);
        assert_eq!(present(&high, &all), [true; 4]);
        assert_eq!(present(&high, &[Some(2), Some(-4)]), [false, false]);
    }
}
