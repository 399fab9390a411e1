from mathvisuals.cli import main

main()
