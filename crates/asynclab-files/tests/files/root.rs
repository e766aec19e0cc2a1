//! Where the served folder is, and a clear error when it is missing.

use super::*;

// ---- start-up ----------------------------------------------------------------------

#[test]
fn a_missing_root_is_a_clear_error_at_start() {
    let mut config = Config::builtin().files;
    config.root = "definitely-not-here".into();
    let err = Files::new(&config, Path::new("/nonexistent-base"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("files.root") && err.contains("definitely-not-here"),
        "{err}"
    );
}

#[test]
fn a_relative_root_starts_at_the_project_folder() {
    let at = |base: &str| Files::resolve_root("public", Path::new(base));
    assert_eq!(at("."), PathBuf::from("./public"));
    assert_eq!(at("/app/config"), PathBuf::from("/app/public"));
    assert_eq!(at("config"), PathBuf::from("public"));
    assert_eq!(at("/etc/asynclab"), PathBuf::from("/etc/asynclab/public"));
    assert_eq!(
        Files::resolve_root("/srv/www", Path::new("/app/config")),
        PathBuf::from("/srv/www")
    );
}

#[test]
fn the_shipped_public_folder_is_served_by_default() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let files = Files::new(&Config::builtin().files, &base).unwrap();
    for name in [
        "data.txt",
        "index.html",
        "style.css",
        "style.css.gz",
        "style.css.br",
        "info.json",
    ] {
        assert!(
            files.root().join(name).is_file(),
            "public/{name} is missing"
        );
    }
}
