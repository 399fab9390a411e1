"""Taking over stacks that exist: predict what AWS will do, adopt live values, phase the work."""
