from weightwatch.cli import entry

entry()
