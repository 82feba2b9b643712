"""`python -m app`: the same as the `stepwise` console command."""

from app.cli import main

if __name__ == "__main__":
    main()
