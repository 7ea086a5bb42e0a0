"""GitHub: the maintainer bot, its pull request bodies, the REST client and the git revision."""
