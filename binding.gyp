{
  "targets": [
    {
      "target_name": "dpfl",
      "sources": [
        "<!@(node native/list-sources.cjs native/)",
        "<!@(node native/list-sources.cjs native/ sources-addon)"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native/include"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags!": [
        "-fno-exceptions"
      ],
      "cflags_cc!": [
        "-fno-exceptions",
        "-std=gnu++17",
        "-std=gnu++20"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-fexceptions",
        "-O3",
        "-ffp-contract=off",
        "-fvisibility=hidden"
      ],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CPLUSPLUSFLAGS": [
          "-O3",
          "-ffp-contract=off"
        ],
        "MACOSX_DEPLOYMENT_TARGET": "11.0"
      },
      "msvs_settings": {
        "VCCLCompilerTool": {
          "ExceptionHandling": 1,
          "AdditionalOptions": [
            "/std:c++17",
            "/fp:precise"
          ]
        }
      },
      "conditions": [
        [
          "OS==\"linux\"",
          {
            "libraries": [
              "-ldl"
            ]
          }
        ],
        [
          "target_arch==\"x64\"",
          {
            "dependencies": [
              "dpfl_avx2",
              "dpfl_avx512"
            ]
          }
        ]
      ]
    }
  ],
  "conditions": [
    [
      "target_arch==\"x64\"",
      {
        "targets": [
          {
            "target_name": "dpfl_avx2",
            "type": "static_library",
            "sources": [
              "<!@(node native/list-sources.cjs native/ sources-avx2)"
            ],
            "include_dirs": [
              "native/include"
            ],
            "cflags!": [
              "-fno-exceptions"
            ],
            "cflags_cc!": [
              "-fno-exceptions",
              "-std=gnu++17",
              "-std=gnu++20"
            ],
            "cflags_cc": [
              "-std=c++17",
              "-O3",
              "-ffp-contract=off",
              "-fvisibility=hidden",
              "-fPIC",
              "-mavx2"
            ],
            "xcode_settings": {
              "OTHER_CPLUSPLUSFLAGS": [
                "-O3",
                "-ffp-contract=off",
                "-mavx2"
              ]
            },
            "msvs_settings": {
              "VCCLCompilerTool": {
                "AdditionalOptions": [
                  "/std:c++17",
                  "/fp:precise",
                  "/arch:AVX2"
                ]
              }
            }
          },
          {
            "target_name": "dpfl_avx512",
            "type": "static_library",
            "sources": [
              "<!@(node native/list-sources.cjs native/ sources-avx512)"
            ],
            "include_dirs": [
              "native/include"
            ],
            "cflags!": [
              "-fno-exceptions"
            ],
            "cflags_cc!": [
              "-fno-exceptions",
              "-std=gnu++17",
              "-std=gnu++20"
            ],
            "cflags_cc": [
              "-std=c++17",
              "-O3",
              "-ffp-contract=off",
              "-fvisibility=hidden",
              "-fPIC",
              "-mavx512f",
              "-mavx512dq",
              "-mavx512bw",
              "-mavx512vl",
              "-Wno-maybe-uninitialized"
            ],
            "xcode_settings": {
              "OTHER_CPLUSPLUSFLAGS": [
                "-O3",
                "-ffp-contract=off",
                "-mavx512f",
                "-mavx512dq",
                "-mavx512bw",
                "-mavx512vl",
                "-Wno-maybe-uninitialized"
              ]
            },
            "msvs_settings": {
              "VCCLCompilerTool": {
                "AdditionalOptions": [
                  "/std:c++17",
                  "/fp:precise",
                  "/arch:AVX512"
                ]
              }
            }
          }
        ]
      }
    ]
  ]
}
