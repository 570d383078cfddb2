;; SHA-256 (FIPS 180-4) block compression for content tags (src/package/sha256.ts), in
;; WebAssembly: in a CLI run that hashes a few kilobytes, JavaScript would still be interpreted and
;; node:crypto costs ~6 ms to load (issue #4). Assembled by scripts/build-sha256-wasm.mjs into
;; src/package/sha256-wasm.ts; a unit test checks that the two agree.
;;
;; Memory (2 pages): K at 0..255 and the message schedule W at 256..511 (little-endian words);
;; the caller puts the eight state words at any address and the input blocks at 1024 or above.
(module
  (memory (export "memory") 2)
  (data (i32.const 0)
    "\98\2f\8a\42\91\44\37\71\cf\fb\c0\b5\a5\db\b5\e9"  ;; K[0..3]
    "\5b\c2\56\39\f1\11\f1\59\a4\82\3f\92\d5\5e\1c\ab"  ;; K[4..7]
    "\98\aa\07\d8\01\5b\83\12\be\85\31\24\c3\7d\0c\55"  ;; K[8..11]
    "\74\5d\be\72\fe\b1\de\80\a7\06\dc\9b\74\f1\9b\c1"  ;; K[12..15]
    "\c1\69\9b\e4\86\47\be\ef\c6\9d\c1\0f\cc\a1\0c\24"  ;; K[16..19]
    "\6f\2c\e9\2d\aa\84\74\4a\dc\a9\b0\5c\da\88\f9\76"  ;; K[20..23]
    "\52\51\3e\98\6d\c6\31\a8\c8\27\03\b0\c7\7f\59\bf"  ;; K[24..27]
    "\f3\0b\e0\c6\47\91\a7\d5\51\63\ca\06\67\29\29\14"  ;; K[28..31]
    "\85\0a\b7\27\38\21\1b\2e\fc\6d\2c\4d\13\0d\38\53"  ;; K[32..35]
    "\54\73\0a\65\bb\0a\6a\76\2e\c9\c2\81\85\2c\72\92"  ;; K[36..39]
    "\a1\e8\bf\a2\4b\66\1a\a8\70\8b\4b\c2\a3\51\6c\c7"  ;; K[40..43]
    "\19\e8\92\d1\24\06\99\d6\85\35\0e\f4\70\a0\6a\10"  ;; K[44..47]
    "\16\c1\a4\19\08\6c\37\1e\4c\77\48\27\b5\bc\b0\34"  ;; K[48..51]
    "\b3\0c\1c\39\4a\aa\d8\4e\4f\ca\9c\5b\f3\6f\2e\68"  ;; K[52..55]
    "\ee\82\8f\74\6f\63\a5\78\14\78\c8\84\08\02\c7\8c"  ;; K[56..59]
    "\fa\ff\be\90\eb\6c\50\a4\f7\a3\f9\be\f2\78\71\c6"  ;; K[60..63]
  )

  ;; A big-endian word from a little-endian load.
  (func $bswap (param $v i32) (result i32)
    (i32.or
      (i32.or
        (i32.shl (local.get $v) (i32.const 24))
        (i32.and (i32.shl (local.get $v) (i32.const 8)) (i32.const 0x00ff0000)))
      (i32.or
        (i32.and (i32.shr_u (local.get $v) (i32.const 8)) (i32.const 0x0000ff00))
        (i32.shr_u (local.get $v) (i32.const 24)))))

  ;; Runs `blocks` 64-byte blocks from `data` into the eight state words at `state`.
  (func (export "compress") (param $state i32) (param $data i32) (param $blocks i32)
    (local $i i32) (local $x i32) (local $y i32) (local $t1 i32) (local $t2 i32)
    (local $a i32) (local $b i32) (local $c i32) (local $d i32)
    (local $e i32) (local $f i32) (local $g i32) (local $h i32)
    (block $done
      (loop $block
        (br_if $done (i32.eqz (local.get $blocks)))
        ;; W[0..15]: the block's words ($i is a byte offset into W).
        (local.set $i (i32.const 0))
        (loop $load
          (i32.store offset=256 (local.get $i)
            (call $bswap (i32.load (i32.add (local.get $data) (local.get $i)))))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (br_if $load (i32.lt_u (local.get $i) (i32.const 64))))
        ;; W[16..63] = W[i-16] + s0(W[i-15]) + W[i-7] + s1(W[i-2])
        (loop $extend
          (local.set $x (i32.load offset=196 (local.get $i)))
          (local.set $y (i32.load offset=248 (local.get $i)))
          (i32.store offset=256 (local.get $i)
            (i32.add
              (i32.add
                (i32.load offset=192 (local.get $i))
                (i32.xor
                  (i32.xor (i32.rotr (local.get $x) (i32.const 7)) (i32.rotr (local.get $x) (i32.const 18)))
                  (i32.shr_u (local.get $x) (i32.const 3))))
              (i32.add
                (i32.load offset=228 (local.get $i))
                (i32.xor
                  (i32.xor (i32.rotr (local.get $y) (i32.const 17)) (i32.rotr (local.get $y) (i32.const 19)))
                  (i32.shr_u (local.get $y) (i32.const 10))))))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (br_if $extend (i32.lt_u (local.get $i) (i32.const 256))))
        (local.set $a (i32.load offset=0 (local.get $state)))
        (local.set $b (i32.load offset=4 (local.get $state)))
        (local.set $c (i32.load offset=8 (local.get $state)))
        (local.set $d (i32.load offset=12 (local.get $state)))
        (local.set $e (i32.load offset=16 (local.get $state)))
        (local.set $f (i32.load offset=20 (local.get $state)))
        (local.set $g (i32.load offset=24 (local.get $state)))
        (local.set $h (i32.load offset=28 (local.get $state)))
        ;; 64 rounds ($i is a byte offset into K and W).
        (local.set $i (i32.const 0))
        (loop $round
          (local.set $t1
            (i32.add
              (i32.add
                (i32.add
                  (local.get $h)
                  (i32.xor
                    (i32.xor (i32.rotr (local.get $e) (i32.const 6)) (i32.rotr (local.get $e) (i32.const 11)))
                    (i32.rotr (local.get $e) (i32.const 25))))
                (i32.xor
                  (i32.and (local.get $e) (local.get $f))
                  (i32.and (i32.xor (local.get $e) (i32.const -1)) (local.get $g))))
              (i32.add (i32.load offset=0 (local.get $i)) (i32.load offset=256 (local.get $i)))))
          (local.set $t2
            (i32.add
              (i32.xor
                (i32.xor (i32.rotr (local.get $a) (i32.const 2)) (i32.rotr (local.get $a) (i32.const 13)))
                (i32.rotr (local.get $a) (i32.const 22)))
              (i32.xor
                (i32.xor (i32.and (local.get $a) (local.get $b)) (i32.and (local.get $a) (local.get $c)))
                (i32.and (local.get $b) (local.get $c)))))
          (local.set $h (local.get $g))
          (local.set $g (local.get $f))
          (local.set $f (local.get $e))
          (local.set $e (i32.add (local.get $d) (local.get $t1)))
          (local.set $d (local.get $c))
          (local.set $c (local.get $b))
          (local.set $b (local.get $a))
          (local.set $a (i32.add (local.get $t1) (local.get $t2)))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (br_if $round (i32.lt_u (local.get $i) (i32.const 256))))
        (i32.store offset=0 (local.get $state) (i32.add (i32.load offset=0 (local.get $state)) (local.get $a)))
        (i32.store offset=4 (local.get $state) (i32.add (i32.load offset=4 (local.get $state)) (local.get $b)))
        (i32.store offset=8 (local.get $state) (i32.add (i32.load offset=8 (local.get $state)) (local.get $c)))
        (i32.store offset=12 (local.get $state) (i32.add (i32.load offset=12 (local.get $state)) (local.get $d)))
        (i32.store offset=16 (local.get $state) (i32.add (i32.load offset=16 (local.get $state)) (local.get $e)))
        (i32.store offset=20 (local.get $state) (i32.add (i32.load offset=20 (local.get $state)) (local.get $f)))
        (i32.store offset=24 (local.get $state) (i32.add (i32.load offset=24 (local.get $state)) (local.get $g)))
        (i32.store offset=28 (local.get $state) (i32.add (i32.load offset=28 (local.get $state)) (local.get $h)))
        (local.set $data (i32.add (local.get $data) (i32.const 64)))
        (local.set $blocks (i32.sub (local.get $blocks) (i32.const 1)))
        (br $block)))))
