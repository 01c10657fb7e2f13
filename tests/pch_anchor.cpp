// Anchor for the engine tests' shared precompiled header (see CMakeLists.txt).
