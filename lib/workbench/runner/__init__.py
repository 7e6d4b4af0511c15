"""The runner: a request becomes run folders. Parameters, runs, sweeps, the main job and the CLI; no ML.

Nothing in a toolkit imports this package.
"""
