"""The AWS gateway: S3 and Lambda through boto3, the only package that imports boto3 or botocore.

It speaks in the core's terms (keys, text, ``PublishedLayer``) and turns every boto3 failure
into one ``AwsError`` line with the fix.
"""
