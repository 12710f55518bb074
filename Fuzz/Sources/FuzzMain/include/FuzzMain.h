// Nothing to import: FuzzMain only supplies the executables' entry points.
