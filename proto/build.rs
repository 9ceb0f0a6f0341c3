//! Generates the gRPC clients and servers of every `devopstrack/<service>/v1/*.proto` and one encoded file descriptor
//! set for server reflection. protoc comes from `protoc-bin-vendored`, so a fresh machine needs nothing but cargo.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "devopstrack/auth/v1/auth.proto",
        "devopstrack/projects/v1/projects.proto",
        "devopstrack/tasks/v1/tasks.proto",
        "devopstrack/metrics/v1/metrics.proto",
    ];
    use_vendored_protoc()?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let include = protoc_bin_vendored::include_path()?;
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("devopstrack_descriptor.bin"))
        .compile_protos(&protos.map(PathBuf::from), &[PathBuf::from("."), include])?;
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    Ok(())
}

/// Points prost-build at the vendored protoc through its documented `PROTOC` variable.
fn use_vendored_protoc() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // `set_var` is unsafe in edition 2024; a build script has no other threads.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("PROTOC", protoc);
    }
    Ok(())
}
