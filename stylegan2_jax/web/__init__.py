"""The browser demo: a static page that runs an exported generator in onnxruntime-web."""
