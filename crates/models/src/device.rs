//! Device selection: CUDA (feature `cuda`) or Metal (feature `metal`) when asked for, compiled
//! in and available, otherwise the CPU. The choice is logged with `tracing`.
//!
//! ```
//! let device = textrnn_models::select_device(false);
//! assert!(device.is_cpu());
//! ```

use candle_core::Device;

/// Picks the device: the first GPU when `prefer_gpu` and a GPU backend is compiled in and
/// works, else the CPU (never fails).
pub fn select_device(prefer_gpu: bool) -> Device {
    if prefer_gpu {
        #[cfg(feature = "cuda")]
        match Device::new_cuda(0) {
            Ok(device) => {
                tracing::info!("using CUDA device 0");
                return device;
            }
            Err(e) => tracing::warn!("CUDA requested but unavailable ({e}); falling back"),
        }
        #[cfg(feature = "metal")]
        match Device::new_metal(0) {
            Ok(device) => {
                tracing::info!("using Metal device 0");
                return device;
            }
            Err(e) => tracing::warn!("Metal requested but unavailable ({e}); falling back"),
        }
        #[cfg(not(any(feature = "cuda", feature = "metal")))]
        tracing::warn!(
            "GPU requested but textrnn-models was built without the `cuda` or `metal` feature"
        );
    }
    tracing::info!("using the CPU");
    Device::Cpu
}
