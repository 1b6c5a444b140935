/* SPDX-License-Identifier: Apache-2.0 */
/* empty.c -- stands in for a module that has no sources yet. */
typedef int spate_empty_translation_unit;
