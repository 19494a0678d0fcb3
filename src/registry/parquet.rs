//! Parquet snapshots through polars (eager API). The only module that uses polars, so its
//! API churn and build cost stay here, behind the `parquet` feature.
//!
//! Columns and checks are those of the CSV snapshot: reading turns each row into a text
//! record for [`super::snapshot`]; writing gives `registry_id` Int64, the dates Date, and
//! every other column String, with null for blank.

use std::fs::File;
use std::path::Path;
use std::time::Instant;

use chrono::NaiveDate;
use csv::ByteRecord;
use polars::prelude::{
    BatchedWriter, Column, DataFrame, DataType, IntoColumn, NamedFrom, ParquetReader,
    ParquetWriter, PolarsError, SerReader, Series,
};

use super::snapshot::{ExportReport, RowSource, DOSE_COLUMNS, PATIENT_COLUMNS};
use super::{IsoDate, RegistryStore};
use crate::error::{Error, IoContext, Result};
use crate::sink::AtomicFile;

/// Rows per written batch (one row group each): bounds the memory an export needs.
const BATCH: usize = 100_000;

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01 (Arrow's day 0).
const EPOCH_FROM_CE: i32 = 719_163;

trait ParquetContext<T> {
    fn at(self, path: &Path) -> Result<T>;
}

impl<T> ParquetContext<T> for std::result::Result<T, PolarsError> {
    fn at(self, path: &Path) -> Result<T> {
        self.map_err(|source| Error::Parquet { path: path.to_path_buf(), source })
    }
}

/// The rows of a Parquet snapshot table, read whole, handed out as text records.
pub(crate) struct ParquetRows {
    headers: ByteRecord,
    /// Each column as String, or as Date (formatted per row, as casting needs more features).
    columns: Vec<Column>,
    height: usize,
    row: usize,
    path: std::path::PathBuf,
}

impl ParquetRows {
    /// Reads the file and readies its columns.
    pub(crate) fn open(path: &Path) -> Result<ParquetRows> {
        let file = File::open(path).at(path)?;
        let df = ParquetReader::new(file).finish().at(path)?;
        let mut headers = ByteRecord::new();
        let mut columns = Vec::with_capacity(df.width());
        for col in df.columns() {
            headers.push_field(col.name().as_bytes());
            columns.push(match col.dtype() {
                DataType::String | DataType::Date => col.clone(),
                _ => col.cast(&DataType::String).at(path)?,
            });
        }
        Ok(ParquetRows { headers, columns, height: df.height(), row: 0, path: path.to_path_buf() })
    }
}

impl RowSource for ParquetRows {
    fn headers(&self) -> &ByteRecord {
        &self.headers
    }

    fn next_record(&mut self, record: &mut ByteRecord) -> Result<Option<u64>> {
        if self.row >= self.height {
            return Ok(None);
        }
        record.clear();
        for col in &self.columns {
            if let DataType::Date = col.dtype() {
                let days = col.date().at(&self.path)?.physical().get(self.row);
                let date =
                    days.and_then(|d| NaiveDate::from_num_days_from_ce_opt(d + EPOCH_FROM_CE));
                record.push_field(
                    date.map(IsoDate::new).as_ref().map_or("", IsoDate::as_str).as_bytes(),
                );
            } else {
                let text = col.str().at(&self.path)?.get(self.row);
                record.push_field(text.unwrap_or_default().as_bytes());
            }
        }
        self.row += 1;
        // As if a header line came first, like the CSV line numbers.
        Ok(Some(self.row as u64 + 1))
    }
}

/// Column buffers of one batch: registry ids, dates, and text columns.
struct Batch {
    ids: Vec<Option<i64>>,
    dates: Vec<Option<i32>>,
    text: Vec<Vec<Option<String>>>,
}

impl Batch {
    fn new(text_columns: usize) -> Batch {
        Batch {
            ids: Vec::with_capacity(BATCH),
            dates: Vec::with_capacity(BATCH),
            text: (0..text_columns).map(|_| Vec::with_capacity(BATCH)).collect(),
        }
    }

    fn push_text(&mut self, k: usize, value: &str) {
        self.text[k].push((!value.is_empty()).then(|| value.to_owned()));
    }

    /// Builds the frame in `names` order: column 0 the id, `date_at` the date, the rest text.
    fn take(&mut self, names: &[&str], date_at: usize) -> Result<DataFrame, PolarsError> {
        let height = self.ids.len();
        let mut text = self.text.iter_mut();
        let mut columns = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let name = (*name).into();
            columns.push(if i == 0 {
                Column::new(name, std::mem::take(&mut self.ids))
            } else if i == date_at {
                Series::new(name, std::mem::take(&mut self.dates)).into_date().into_column()
            } else {
                Column::new(name, text.next().map(std::mem::take).unwrap_or_default())
            });
        }
        DataFrame::new(height, columns)
    }
}

fn days(date: NaiveDate) -> i32 {
    chrono::Datelike::num_days_from_ce(&date) - EPOCH_FROM_CE
}

/// One table being written, a batch (row group) at a time.
struct TableWriter<'a> {
    writer: BatchedWriter<&'a mut AtomicFile>,
    batch: Batch,
    names: &'static [&'static str],
    date_at: usize,
    path: &'a Path,
    rows: u64,
}

impl<'a> TableWriter<'a> {
    fn new(
        file: &'a mut AtomicFile,
        path: &'a Path,
        names: &'static [&'static str],
        date_at: usize,
    ) -> Result<TableWriter<'a>> {
        let mut batch = Batch::new(names.len() - 2);
        // An empty frame gives the schema before the first row.
        let schema = batch.take(names, date_at).at(path)?.schema().clone();
        let writer = ParquetWriter::new(file).batched(&schema).at(path)?;
        Ok(TableWriter { writer, batch, names, date_at, path, rows: 0 })
    }

    fn row_done(&mut self) -> Result<()> {
        self.rows += 1;
        if self.batch.ids.len() == BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let df = self.batch.take(self.names, self.date_at).at(self.path)?;
        self.writer.write_batch(&df).at(self.path)
    }

    fn finish(mut self) -> Result<u64> {
        if !self.batch.ids.is_empty() {
            self.flush()?;
        }
        self.writer.finish().at(self.path)?;
        Ok(self.rows)
    }
}

/// Writes `patients.parquet` and `doses.parquet` into `out_dir`, in the order of the CSV
/// export. Both appear only once both are complete.
pub fn export<S: RegistryStore>(store: &S, out_dir: &Path) -> Result<ExportReport> {
    let patients_path = out_dir.join("patients.parquet");
    let doses_path = out_dir.join("doses.parquet");

    let start = Instant::now();
    let mut patients_file = AtomicFile::create(&patients_path)?;
    let mut table = TableWriter::new(&mut patients_file, &patients_path, &PATIENT_COLUMNS, 5)?;
    store.for_each_patient(&mut |p| {
        let b = &mut table.batch;
        b.ids.push(p.registry_id.map(|id| id.0));
        b.dates.push(p.dob.map(days));
        let texts = p
            .name_columns()
            .into_iter()
            .chain(p.contact_columns())
            .chain([p.locked_flag(), p.status.as_str()]);
        for (k, t) in texts.enumerate() {
            b.push_text(k, t);
        }
        table.row_done()
    })?;
    let patients = table.finish()?;
    let patients_time = start.elapsed();

    let start = Instant::now();
    let mut doses_file = AtomicFile::create(&doses_path)?;
    let mut table = TableWriter::new(&mut doses_file, &doses_path, &DOSE_COLUMNS, 1)?;
    store.for_each_dose(&mut |d| {
        let b = &mut table.batch;
        b.ids.push(Some(d.registry_id.0));
        b.dates.push(Some(days(d.vaccination_date)));
        let texts: [&str; 9] = [
            &d.cvx,
            &d.cpt,
            &d.ndc,
            &d.mvx,
            &d.lot_number,
            match d.administered {
                Some(true) => "Y",
                Some(false) => "N",
                None => "",
            },
            &d.site_id,
            d.source.as_str(),
            &d.external_id,
        ];
        for (k, t) in texts.into_iter().enumerate() {
            b.push_text(k, t);
        }
        table.row_done()
    })?;
    let doses = table.finish()?;
    let doses_time = start.elapsed();

    let files = vec![patients_file.commit()?, doses_file.commit()?];
    Ok(ExportReport { patients, doses, files, patients_time, doses_time })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::snapshot::{self, ImportSpec, SnapshotFormat};
    use crate::registry::SqliteStore;

    const PATIENTS: &str = "\
registry_id,first_name,middle_name,last_name,suffix,dob,sex,street,city,state,zip,phone,email,mother_maiden_last,guardian_first,guardian_last,medi_cal_cin,chart_number,site_id,locked,status
1,ANA,,GARCIA,,2020-01-15,F,1 MAIN ST,FRESNO,CA,93701,5595550100,,LOPEZ,,,,MRN1,DE-000001,N,A
2,JOSÉ,\"M, JR\",NUÑEZ,JR,1969-12-31,M,,,,,,,,,,,MRN2,DE-000001,Y,I
10,BO,,LI,,,U,,,,,,,,,,,,,N,A
";
    const DOSES: &str = "\
registry_id,vaccination_date,cvx,cpt,ndc,mvx,lot_number,administered,site_id,source,dose_id
1,2020-03-15,20,,,SKB,LOT1,Y,DE-000001,flat-file,D1
1,2020-05-15,20,,,SKB,LOT2,N,,vxu,
2,1970-01-01,,90700,,,,,,snapshot,
";

    #[test]
    fn csv_to_parquet_to_csv_keeps_every_value() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for (name, text) in [("p.csv", PATIENTS), ("d.csv", DOSES)] {
            let mut f = File::create(d.join(name)).unwrap();
            std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
        }
        let mut first = SqliteStore::open(&d.join("one.db")).unwrap();
        let (p, ds) = (d.join("p.csv"), d.join("d.csv"));
        let spec =
            ImportSpec { patients: &p, doses: Some(&ds), format: SnapshotFormat::Csv, job: "t" };
        snapshot::import(&mut first, &spec).unwrap();
        export(&first, d).unwrap();

        let mut second = SqliteStore::open(&d.join("two.db")).unwrap();
        let (p, ds) = (d.join("patients.parquet"), d.join("doses.parquet"));
        let spec = ImportSpec {
            patients: &p,
            doses: Some(&ds),
            format: SnapshotFormat::Parquet,
            job: "t",
        };
        let report = snapshot::import(&mut second, &spec).unwrap();
        assert_eq!((report.patients, report.doses), (3, 3));
        let out = d.join("out");
        std::fs::create_dir(&out).unwrap();
        snapshot::export(&second, &out).unwrap();
        assert_eq!(std::fs::read_to_string(out.join("patients.csv")).unwrap(), PATIENTS);
        assert_eq!(std::fs::read_to_string(out.join("doses.csv")).unwrap(), DOSES);
    }
}
