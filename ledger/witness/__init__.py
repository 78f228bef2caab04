"""The witness: an independent party (the Sở, the Phòng, a neighbouring school) that cosigns a school's
checkpoints only when each extends the last one it cosigned, and keeps the evidence of any attempt to
make it sign a smaller or a forked tree (c2sp.org/tlog-witness). It has its own key and its own
database; `hocba witness serve` runs it. Imports the byte format and the log's tables only."""
