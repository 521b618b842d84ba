//! Embeds the migrations: for each backend, a list of (version, description, SQL) read from
//! `migrations/<backend>/<VERSION>_<description>.sql`, in version order. This is what sqlx's
//! `migrate!` macro did; the macro needs sqlx's macros crate, which compiled both database
//! drivers a second time for the build machine (`docs/ci.md`).
use std::fmt::Write as _;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let mut code = String::new();
    for backend in ["sqlite", "postgres"] {
        let dir = Path::new("migrations").join(backend);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<(i64, String, String)> = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("the migrations folder") {
            let path = entry.expect("a migration file").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .expect("a UTF-8 file name");
            let Some((version, rest)) = name.split_once('_') else {
                panic!("{name}: a migration is named VERSION_description.sql");
            };
            let Some(description) = rest.strip_suffix(".sql") else {
                continue;
            };
            assert!(
                !description.ends_with(".up") && !description.ends_with(".down"),
                "{name}: reversible migrations are not used"
            );
            let version: i64 = version
                .parse()
                .unwrap_or_else(|_| panic!("{name}: the version must be a number"));
            let absolute = std::fs::canonicalize(&path).expect("the migration's path");
            files.push((
                version,
                description.replace('_', " "),
                absolute.display().to_string(),
            ));
        }
        files.sort();
        for pair in files.windows(2) {
            assert!(
                pair[0].0 != pair[1].0,
                "two migrations with version {}",
                pair[0].0
            );
        }
        writeln!(
            code,
            "pub(crate) static {}: &[(i64, &str, &str)] = &[",
            backend.to_uppercase()
        )
        .expect("write");
        for (version, description, path) in files {
            writeln!(
                code,
                "    ({version}, {description:?}, include_str!({path:?})),"
            )
            .expect("write");
        }
        code.push_str("];\n");
    }
    std::fs::write(Path::new(&out).join("migrations.rs"), code).expect("write the migrations list");
}
