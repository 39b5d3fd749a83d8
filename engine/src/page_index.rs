//! Table scans keep each Parquet file's page index in DataFusion's metadata cache, read once.
//!
//! DataFusion 55's Parquet opener asks for a file's footer without its page index, then, when
//! a filter could prune pages, reads and decodes the page index itself: from the file again,
//! on every open, and into a copy of the cached footer that it never caches. A scan that
//! filters lineitem paid that for every file at every query (1 % of SF1 q6's CPU with four
//! file ranges, BENCHMARKS.md change 27). The readers made here ask the cache for the footer
//! with its page index, so the first open of a file stores both and later opens find the
//! index loaded.
//! The cache (DataFusion's, 50 MB by default) holds a TPC-H SF10 database's page indexes,
//! about 2 MB on disk, with room to spare.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{
    FileScanConfig, FileSource, ParquetFileReaderFactory, ParquetSource,
};
use datafusion::error::Result;
use datafusion::parquet::arrow::arrow_reader::ArrowReaderOptions;
use datafusion::parquet::arrow::async_reader::AsyncFileReader;
use datafusion::parquet::file::metadata::{PageIndexPolicy, ParquetMetaData};
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use futures::future::BoxFuture;
use futures::FutureExt;

/// `config`'s source reading through readers that load page indexes into the cache, when it
/// is a Parquet source with a reader factory of its own to wrap (delta-rs gives every scan
/// DataFusion's caching one). For a scan fresh from the table provider: wrapping twice
/// would only add a call.
pub(crate) fn caching_source(config: &FileScanConfig) -> Option<Arc<dyn FileSource>> {
    let source = config.file_source().downcast_ref::<ParquetSource>()?;
    let inner = source.parquet_file_reader_factory()?;
    Some(Arc::new(source.clone().with_parquet_file_reader_factory(
        page_index_readers(Arc::clone(inner)),
    )))
}

/// `inner`'s readers, each asking for its footer with the page index.
pub(crate) fn page_index_readers(
    inner: Arc<dyn ParquetFileReaderFactory>,
) -> Arc<dyn ParquetFileReaderFactory> {
    Arc::new(PageIndexReaders { inner })
}

/// Wraps another factory's readers so that their footer comes with its page index.
#[derive(Debug)]
struct PageIndexReaders {
    inner: Arc<dyn ParquetFileReaderFactory>,
}

impl ParquetFileReaderFactory for PageIndexReaders {
    fn create_reader(
        &self,
        partition_index: usize,
        partitioned_file: PartitionedFile,
        metadata_size_hint: Option<usize>,
        metrics: &ExecutionPlanMetricsSet,
    ) -> Result<Box<dyn AsyncFileReader + Send>> {
        let inner = self.inner.create_reader(
            partition_index,
            partitioned_file,
            metadata_size_hint,
            metrics,
        )?;
        Ok(Box::new(WithPageIndex(inner)))
    }
}

struct WithPageIndex(Box<dyn AsyncFileReader + Send>);

impl AsyncFileReader for WithPageIndex {
    fn get_bytes(
        &mut self,
        range: Range<u64>,
    ) -> BoxFuture<'_, datafusion::parquet::errors::Result<Bytes>> {
        self.0.get_bytes(range)
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, datafusion::parquet::errors::Result<Vec<Bytes>>> {
        self.0.get_byte_ranges(ranges)
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, datafusion::parquet::errors::Result<Arc<ParquetMetaData>>> {
        // `Optional`: a file written without a page index still opens.
        let options = options
            .cloned()
            .unwrap_or_default()
            .with_page_index_policy(PageIndexPolicy::Optional);
        async move { self.0.get_metadata(Some(&options)).await }.boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use datafusion::datasource::physical_plan::parquet::CachedParquetFileReaderFactory;
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    use datafusion::object_store::local::LocalFileSystem;
    use datafusion::object_store::path::Path;
    use datafusion::object_store::{ObjectStore, ObjectStoreExt};
    use datafusion::parquet::arrow::ArrowWriter;

    /// What the opener does: the footer without the page index, from a fresh reader.
    async fn footer(factory: &dyn ParquetFileReaderFactory, file: &PartitionedFile) -> bool {
        let mut reader = factory
            .create_reader(0, file.clone(), None, &ExecutionPlanMetricsSet::new())
            .unwrap();
        let skip = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Skip);
        let metadata = reader.get_metadata(Some(&skip)).await.unwrap();
        metadata.column_index().is_some() && metadata.offset_index().is_some()
    }

    #[tokio::test]
    async fn the_first_open_caches_the_page_index_for_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(Int64Array::from_iter_values(0..10_000))],
        )
        .unwrap();
        let mut writer =
            ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();

        let store: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new());
        let location = Path::from_absolute_path(&path).unwrap();
        let file = PartitionedFile::from(store.head(&location).await.unwrap());
        let new_factory = || {
            let cache = RuntimeEnvBuilder::new()
                .build_arc()
                .unwrap()
                .cache_manager
                .get_file_metadata_cache();
            Arc::new(CachedParquetFileReaderFactory::new(
                Arc::clone(&store),
                cache,
            ))
        };

        // DataFusion's own readers never cache the index: every open reads it again.
        let plain = new_factory();
        assert!(!footer(plain.as_ref(), &file).await);
        assert!(!footer(plain.as_ref(), &file).await);

        let cached = new_factory();
        let wrapped = PageIndexReaders {
            inner: Arc::clone(&cached) as _,
        };
        assert!(footer(&wrapped, &file).await);
        // The next open, even through DataFusion's reader, finds the index in the cache.
        assert!(footer(cached.as_ref(), &file).await);
    }

    /// Table scans read through these readers: after a filtered query, the file's cached
    /// footer holds its page index (DataFusion's own readers leave it out).
    #[tokio::test]
    async fn a_filtered_table_scan_leaves_the_page_index_in_the_cache() {
        let (_dir, db) = crate::test_util::database();
        let session = db.session();
        session
            .execute_one("CREATE TABLE t AS SELECT value AS k FROM range(100000)")
            .await
            .unwrap();
        crate::test_util::query_text(&session, "SELECT count(*) FROM t WHERE k < 100").await;
        let entries = session
            .context()
            .runtime_env()
            .cache_manager
            .get_file_metadata_cache()
            .list_entries();
        let indexed: Vec<String> = entries
            .values()
            .map(|e| e.value.file_metadata.extra_info()["page_index"].clone())
            .collect();
        assert_eq!(indexed, ["true"], "{entries:?}");
    }
}
