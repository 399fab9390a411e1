"""Pure rules of the storage API: normalisation, validation and record shapes. No I/O."""
