"""Learning the code system: embeddings, features, classifier, training, the saved model.

- :mod:`pipeline.learn.embed` — embedders by registry name, and the embedding cache;
- :mod:`pipeline.learn.features` — lexical and context features beside the embedding;
- :mod:`pipeline.learn.classify` — the classifier with per-code thresholds, and folds;
- :mod:`pipeline.learn.fit` — hand codes to a training set, and fitting on its rows;
- :mod:`pipeline.learn.cv` — the nested, document-grouped cross-validation and its scores;
- :mod:`pipeline.learn.train` — a model with its card from hand codes;
- :mod:`pipeline.learn.model` — a trained model on disk, and coding segments with it.
"""
