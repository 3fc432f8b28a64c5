"""``idverify demo``: the face factors, tried in a browser.

Three parts on 127.0.0.1, each playing one party of a real deployment:

* idverify itself (the composition root, in process, with the embedded defaults);
* :mod:`idverify.demo.backend`: the lender's app backend. The capture page (``static/``) talks HTTP/JSON to it;
  it holds its own ``app_backend`` API key and calls idverify over gRPC. No key ever reaches the browser;
* :mod:`idverify.demo.loan_service`: the lender's loan service. It verifies the token offline against the JWKS
  (:mod:`idverify.client`) and redeems it over gRPC with its ``loan_service`` key before it "disburses".

Development only: :mod:`idverify.demo.run` refuses ``IDVERIFY_ENV=production``.
"""
