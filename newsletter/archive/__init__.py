"""The static archive: the build (inputs → cache → conversion → pages → writer), preview, deploy.

Owns `_site/`, the build cache under `.cache/` and the S3 upload. Imports `content` and the kernel;
`preview` also shows the email editions from `mail`.
"""
