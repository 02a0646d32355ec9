"""The model registry: registered models of a project, versions made from runs, tags and aliases;
@champion is the promotion gate."""
