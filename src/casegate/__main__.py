from casegate.cli import main

main()
