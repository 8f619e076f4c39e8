"""Tests of the AWS CDK construct that need no Docker engine."""
