"""Audio captioning (the paper's Table 3): a sound -> a gloss caption and the English it
stands for (:mod:`bgtai.caption.model`)."""
