//! The relay embeds the built viewer UI; fail early with the fix rather than a macro error.
fn main() {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    if !dist.join("viewer.html").exists() {
        panic!(
            "ui/dist/viewer.html is missing: build the UI first with `make ui` \
             (npm --prefix ui ci && npm --prefix ui run build)"
        );
    }
}
