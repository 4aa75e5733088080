# The comment model (functions/closeloop/domain/comment_model.json). Included by the top-level Makefile.
#
# The model is trained offline with scikit-learn, in its own environment (.tools/comment-model, pinned with
# hashes in tools/comment-model.txt): the functions score it with the standard library only. Retrain after
# changing the labeled corpus (tests/corpus/judgment); the unit tests fail when the shipped model was not
# trained on the corpus as it is. See docs/judgment.md.

.PHONY: comment-model comment-model-validate

comment-model: .tools/comment-model/.stamp ## retrain the comment model on the labeled corpus (all but the newest blind batch)
	.tools/comment-model/bin/python tools/train_comment_model.py

comment-model-validate: .tools/comment-model/.stamp $(VENV_STAMP) ## lexicon and model judged together on batches held out in turn, for a grid of thresholds
	.tools/comment-model/bin/python tools/train_comment_model.py --held-out .tools/comment-model/held-out.json
	$(PY) tools/validate_comment_model.py .tools/comment-model/held-out.json
