"""The report's figures (matplotlib's Agg canvas, no pyplot state): one file per figure kind."""
