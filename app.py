"""Entry point of the BGTAI demo (Hugging Face Spaces ``app_file``): ``python app.py``."""

from app import cli

if __name__ == "__main__":
    cli.main()
